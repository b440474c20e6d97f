import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { RawHead } from "../../../src/proxy/raw-head.ts";
import { NO_EXTRA_RULES } from "../../../src/redaction/redactor.ts";
import { compareExchange, compareHeadsOfIdenticalBodies, type ComparedSide } from "../../../src/shadow/compare-exchange.ts";

const json = (value: unknown, headers: Record<string, string> = {}, status = 200): ComparedSide => ({
  ok: true,
  response: { status, headers: { "content-type": "application/json", ...headers }, body: Buffer.from(JSON.stringify(value)), truncated: false },
});
const encoded = (value: unknown, encoding: string, encode: (b: Buffer) => Buffer): ComparedSide => ({
  ok: true,
  response: { status: 200, headers: { "content-type": "application/json; charset=utf-8", "content-encoding": encoding }, body: encode(Buffer.from(JSON.stringify(value))), truncated: false },
});
const compare = (left: ComparedSide, right: ComparedSide) => compareExchange({ left, right, headers: ["content-type"], rules: {} });

describe("compareExchange", () => {
  const doc = { items: [{ id: 1, price: 4.99 }], total: 1 };

  it("gzip, brotli or deflate on one side and plain on the other compare equal when equal", () => {
    for (const [name, fn] of [["gzip", gzipSync], ["br", brotliCompressSync], ["deflate", deflateSync]] as const) {
      expect(compare(json(doc, { "content-type": "application/json; charset=utf-8" }), encoded(doc, name, fn)), name).toEqual({ outcome: "match", differences: [] });
    }
    expect(compare(json(doc, { "content-type": "application/json; charset=utf-8" }), encoded({ ...doc, total: 2 }, "gzip", gzipSync)).differences).toMatchObject([{ path: "$.total", kind: "changed" }]);
  });

  it("a JSON media type is known in any case, and a body that looks like JSON is compared as JSON whatever its type", () => {
    const typed = (value: unknown, type: string): ComparedSide => ({ ok: true, response: { status: 200, headers: { "content-type": type }, body: Buffer.from(JSON.stringify(value)), truncated: false } });
    for (const type of ["application/json", "Application/JSON; charset=UTF-8", "application/problem+json"]) {
      expect(compare(typed(doc, type), typed({ ...doc, total: 2 }, type)).differences, type).toEqual([{ path: "$.total", kind: "changed", left: "1", right: "2" }]);
    }
    // Not JSON by its type, but by its first character: still compared as JSON, field by field.
    expect(compare(typed(doc, "text/plain"), typed({ ...doc, total: 2 }, "text/plain")).differences).toEqual([{ path: "$.total", kind: "changed", left: "1", right: "2" }]);
    const spaced = (text: string): ComparedSide => ({ ok: true, response: { status: 200, headers: { "content-type": "text/plain" }, body: Buffer.from(text), truncated: false } });
    expect(compare(spaced(' \n\t[1, {"a": 1}]'), spaced('\r\n [1, {"a": 2}]')).differences).toEqual([{ path: "$[1].a", kind: "changed", left: "1", right: "2" }]);
    // Neither: compared as text, token by token.
    expect(compare(typed("a", "text/plain"), typed("b", "text/plain")).differences).toEqual([{ path: "body:line 1", kind: "changed", left: 'line 1: "a"', right: 'line 1: "b"' }]);
  });

  it("a status difference is its own kind, and the bodies are not diffed", () => {
    expect(compare(json(doc), json({ error: "x" }, {}, 500))).toEqual({
      outcome: "diverge",
      differences: [{ path: "status", kind: "status", left: "200", right: "500" }],
    });
  });

  it("a side that did not answer makes an error outcome", () => {
    expect(compare(json(doc), { ok: false, error: "upstream_timeout" })).toEqual({
      outcome: "error",
      differences: [{ path: "$", kind: "error", left: "HTTP 200", right: "upstream_timeout" }],
    });
  });

  it("compares the configured headers", () => {
    const result = compare(json(doc), json(doc, { "content-type": "text/plain" }));
    expect(result.differences).toMatchObject([{ path: "header:content-type", kind: "changed" }]);
  });

  it("non-JSON bodies compare as normalised text", () => {
    const text = (t: string): ComparedSide => ({ ok: true, response: { status: 200, headers: { "content-type": "text/html" }, body: Buffer.from(t), truncated: false } });
    expect(compare(text("<p>hi</p>\r\n"), text("<p>hi</p>\n")).outcome).toBe("match");
    expect(compare(text("<p>hi</p>"), text("<p>bye</p>")).differences).toEqual([{ path: 'body:after "p"', kind: "changed", left: "line 1: <p>hi</p>", right: "line 1: <p>bye</p>" }]);
  });

  it("text is compared token by token: each changed place named by the words before it, with its line and an excerpt", () => {
    const text = (t: string): ComparedSide => ({ ok: true, response: { status: 200, headers: { "content-type": "text/html" }, body: Buffer.from(t), truncated: false } });
    const page = (token: string, at: string, price: string, extra = "") =>
      `<html>\n<form>\n<input name="csrf" value="${token}">\n</form>\n${extra}<p>Generated at ${at}</p>\n<p>Price: ${price}</p>\n</html>\n`;
    const result = compare(text(page("abc123", "2026-12-07 10:04:18", "4.99")), text(page("zz9", "2026-12-07 10:05:22", "5.99")));
    // Named by the tags before each change (never by the page's text, its content).
    expect(result.differences.map((d) => `${d.kind} ${d.path}`)).toEqual(['changed body:after "name csrf value"', 'changed body:after "value form p"', 'changed body:after "p p p"']);
    // Each shows its line and the text around it, unmarked (it is redacted as text is when stored).
    expect(result.differences.map((d) => [d.left, d.right])).toEqual([
      ['line 3: <html> <form> <input name="csrf" value="abc123"> </form> <p>Generated at 2026-12-07 10…', 'line 3: <html> <form> <input name="csrf" value="zz9"> </form> <p>Generated at 2026-12-07 10…'],
      ['line 5: …name="csrf" value="abc123"> </form> <p>Generated at 2026-12-07 10:04:18</p> <p>Price: 4.99</p> </html> ', 'line 5: …name="csrf" value="zz9"> </form> <p>Generated at 2026-12-07 10:05:22</p> <p>Price: 5.99</p> </html> '],
      ["line 6: …</form> <p>Generated at 2026-12-07 10:04:18</p> <p>Price: 4.99</p> </html> ", "line 6: …</form> <p>Generated at 2026-12-07 10:05:22</p> <p>Price: 5.99</p> </html> "],
    ]);
    // A line added above moves nothing's name: the same three places, and the line itself.
    const moved = compare(text(page("abc123", "2026-12-07 10:04:18", "4.99")), text(page("zz9", "2026-12-07 10:05:22", "5.99", "<p>New banner</p>\n")));
    expect(moved.differences.map((d) => `${d.kind} ${d.path}`)).toEqual(['changed body:after "name csrf value"', 'added body:after "value form p"', 'changed body:after "value form p"', 'changed body:after "p p p"']);
  });

  it("binary bodies are compared by their bytes, and a difference says so, with the sizes", () => {
    const bytes = (b: Buffer, type: string): ComparedSide => ({ ok: true, response: { status: 200, headers: { "content-type": type }, body: b, truncated: false } });
    expect(compare(bytes(Buffer.from([1, 2, 3]), "image/png"), bytes(Buffer.from([1, 2, 3]), "image/png")).outcome).toBe("match");
    expect(compare(bytes(Buffer.from([1, 2, 3]), "image/png"), bytes(Buffer.from([1, 2, 4, 5]), "image/png")).differences).toEqual([{ path: "body", kind: "changed", left: "(3 bytes, binary)", right: "(4 bytes, binary)" }]);
    // No media type, but not text: a NUL byte.
    expect(compare(bytes(Buffer.from([0, 0x41]), ""), bytes(Buffer.from([0, 0x42]), "")).differences).toEqual([{ path: "body", kind: "changed", left: "(2 bytes, binary)", right: "(2 bytes, binary)" }]);
  });

  it("renders redacted examples of both bodies when they differ", () => {
    const result = compareExchange({
      left: json({ email: "a@example.com", price: 1 }),
      right: json({ email: "a@example.com", price: 2 }),
      headers: [],
      rules: {},
      example: { redactFields: ["$.email"], maxBytes: 1000, rules: NO_EXTRA_RULES },
    });
    expect(result.example).toEqual({ left: '{"email":"[redacted]","price":1}', right: '{"email":"[redacted]","price":2}' });
  });
});

describe("compareHeadsOfIdenticalBodies (a pair whose bodies were found the same bytes as they streamed)", () => {
  /** A side as the session holds it: the head kept raw (as undici gave it), the primary's with its names and values made. */
  const side = (status: number, fields: Array<[string, string]>, made: boolean): ComparedSide => {
    const raw = fields.flatMap(([name, value]) => [Buffer.from(name), Buffer.from(value)]);
    const head = made ? new RawHead(raw, fields.map(([name]) => name.toLowerCase()), fields.map(([, value]) => value)) : new RawHead(raw);
    return { ok: true, response: { status, headers: head, body: Buffer.from('{"same":true}'), truncated: false } };
  };
  const base: Array<[string, string]> = [["Content-Type", "application/json"], ["Content-Length", "13"], ["Date", "Sun, 06 Dec 2026 19:00:00 GMT"]];
  const headers = ["content-type", "cache-control"];
  /** What the full comparison says of the same pair, for the verdicts to agree with. */
  const full = (left: ComparedSide, right: ComparedSide) => compareExchange({ left, right, headers, rules: {}, identicalBodies: true });

  it("gives the same verdict as the full comparison: match, a status, a changed, added or removed header", () => {
    const cases: Array<[ComparedSide, ComparedSide, string]> = [
      [side(200, base, true), side(200, [["content-type", "application/json"], ["Date", "Mon, 07 Dec 2026 08:00:00 GMT"]], false), "match"],
      [side(200, base, true), side(404, base, false), "diverge"],
      [side(200, base, true), side(200, [["Content-Type", "text/plain"]], false), "diverge"],
      [side(200, base, false), side(200, [...base, ["Cache-Control", "no-store"]], true), "diverge"],
      [side(200, [...base, ["Cache-Control", "max-age=60"]], true), side(200, base, false), "diverge"],
    ];
    for (const [left, right, outcome] of cases) {
      const verdict = compareHeadsOfIdenticalBodies(left, right, headers);
      expect(verdict?.outcome).toBe(outcome);
      expect(verdict).toEqual(full(left, right));
    }
    expect(compareHeadsOfIdenticalBodies(side(200, base, true), side(200, [["Content-Type", "text/plain"]], false), headers)?.differences).toEqual([
      { path: "header:content-type", kind: "changed", left: "application/json", right: "text/plain" },
    ]);
  });

  it("a side without an answer is an error outcome; a Content-Encoding that differs leaves the bodies to the full comparison", () => {
    expect(compareHeadsOfIdenticalBodies({ ok: false, error: "upstream_timeout" }, side(200, base, false), headers)).toEqual(full({ ok: false, error: "upstream_timeout" }, side(200, base, false)));
    expect(compareHeadsOfIdenticalBodies(side(200, [...base, ["Content-Encoding", "gzip"]], true), side(200, base, false), headers)).toBeUndefined();
    expect(compareHeadsOfIdenticalBodies(side(200, [...base, ["Content-Encoding", "gzip"]], true), side(200, [...base, ["content-encoding", "gzip"]], false), headers)?.outcome).toBe("match");
  });
});
