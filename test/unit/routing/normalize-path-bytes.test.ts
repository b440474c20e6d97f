import { describe, expect, it } from "vitest";
import { normalizeRequestTarget } from "../../../src/routing/normalize-path.ts";

/** Byte by byte: every escape and every raw character, against the RFC 3986 sets written out independently. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const hex = (n: number) => n.toString(16).padStart(2, "0");

describe("percent-escapes, all 256 of them, in either case", () => {
  it("decodes unreserved characters, refuses NUL, slash and backslash, and keeps the rest upper-cased", () => {
    for (let byte = 0; byte < 256; byte++) {
      const char = String.fromCharCode(byte);
      const expected =
        byte === 0 ? { ok: false, reason: "encoded NUL in path" }
        : byte === 0x2f || byte === 0x5c ? { ok: false, reason: "encoded slash or backslash in path" }
        : { ok: true, path: `/a${UNRESERVED.test(char) ? char : `%${hex(byte).toUpperCase()}`}`, query: "" };
      for (const escape of [hex(byte), hex(byte).toUpperCase()]) {
        expect(normalizeRequestTarget(`/a%${escape}`), `%${escape}`).toEqual(expected);
      }
    }
  });

  it("refuses an escape whose digits are not hex, including the characters either side of each hex range", () => {
    for (const digits of ["/0", ":0", "@0", "G0", "`0", "g0", "0/", "0:", "0@", "0G", "0`", "0g", "z", "", "4"]) {
      const target = `/a%${digits}`;
      expect(normalizeRequestTarget(target), target).toEqual({ ok: false, reason: "invalid percent-encoding at offset 2" });
    }
  });
});

describe("raw characters", () => {
  it("accepts every visible ASCII character but %, \\ and # as itself, and refuses controls, space, DEL and beyond", () => {
    for (let code = 0; code < 300; code++) {
      const char = String.fromCharCode(code);
      if (char === "%" || char === "?" || char === "/" || char === ".") continue;
      const result = normalizeRequestTarget(`/a${char}b`);
      if (char === "\\") expect(result, "backslash").toEqual({ ok: false, reason: "backslash in path" });
      else if (char === "#") expect(result, "#").toEqual({ ok: false, reason: "fragment in request target" });
      else if (code <= 32 || code >= 127) expect(result, `code ${code}`).toEqual({ ok: false, reason: "control, space or non-ASCII character in path" });
      else expect(result, char).toEqual({ ok: true, path: `/a${char}b`, query: "" });
    }
  });

  it("refuses them on the slow way too, after an escape", () => {
    expect(normalizeRequestTarget("/%41 b")).toEqual({ ok: false, reason: "control, space or non-ASCII character in path" });
    expect(normalizeRequestTarget("/%41\x7f")).toEqual({ ok: false, reason: "control, space or non-ASCII character in path" });
    expect(normalizeRequestTarget("/%41#x")).toEqual({ ok: false, reason: "fragment in request target" });
  });

  it("refuses a fragment in the query", () => {
    expect(normalizeRequestTarget("/a?x=1#frag")).toEqual({ ok: false, reason: "fragment in request target" });
  });
});

describe("absolute-form targets", () => {
  it("keeps the path and query after the authority, and a bare query is the root's", () => {
    expect(normalizeRequestTarget("http://shop.example/api?x=1")).toEqual({ ok: true, path: "/api", query: "x=1" });
    expect(normalizeRequestTarget("HTTPS://shop.example?x=1")).toEqual({ ok: true, path: "/", query: "x=1" });
    expect(normalizeRequestTarget("http://shop.example")).toEqual({ ok: true, path: "/", query: "" });
  });

  it("refuses a scheme that does not open the target", () => {
    expect(normalizeRequestTarget("xhttp://shop.example/api")).toEqual({ ok: false, reason: 'request target must be a path starting with "/"' });
  });
});
