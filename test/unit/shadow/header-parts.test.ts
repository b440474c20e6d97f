import { describe, expect, it } from "vitest";
import { compareExchange, type ComparedSide } from "../../../src/shadow/compare-exchange.ts";
import { headerParts } from "../../../src/shadow/header-parts.ts";

const answer = (headers: Record<string, string | string[]>): ComparedSide => ({ ok: true, response: { status: 200, headers, body: Buffer.from("{}"), truncated: false } });
const differences = (left: Record<string, string | string[]>, right: Record<string, string | string[]>, headers: string[]) =>
  compareExchange({ left: answer(left), right: answer(right), headers, rules: {} }).differences.map((d) => `${d.kind} ${d.path}`);

describe("headers made of parts", () => {
  it("Link is split by rel (a link without one by its target), quoted or not, commas inside <…> kept", () => {
    expect([...headerParts("link", ['<https://api/x?a=1,2&cursor=Zm9v>; rel="next", <https://api/x>; rel=first; title="a, b"'])]).toEqual([
      ["rel=next", "<https://api/x?a=1,2&cursor=Zm9v>"],
      ["rel=first", '<https://api/x>; title="a, b"'],
    ]);
    expect([...headerParts("link", ["<https://cdn/app.css>; as=style"])]).toEqual([["link=<https://cdn/app.css>", "<https://cdn/app.css>; as=style"]]);
  });

  it("Set-Cookie is split by cookie name, each attribute its own part; Cache-Control by directive", () => {
    expect([...headerParts("set-cookie", ["session=abc; Path=/; HttpOnly; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "theme=dark"])]).toEqual([
      ["session", "abc"],
      ["session;path", "/"],
      ["session;httponly", ""],
      ["session;expires", "Wed, 21 Oct 2026 07:28:00 GMT"],
      ["theme", "dark"],
    ]);
    expect([...headerParts("cache-control", ['public, max-age=60, no-cache="set-cookie"'])]).toEqual([
      ["public", ""],
      ["max-age", "60"],
      ["no-cache", "set-cookie"],
    ]);
  });

  it("a difference names its part: a cursor in rel=next is one place, a missing rel=first another; a cookie's lost HttpOnly is found beside its changed value", () => {
    const link = (cursor: string, first: boolean) => ({ link: `<https://api/x?cursor=${cursor}>; rel="next"${first ? ', <https://api/x>; rel="first"' : ""}` });
    expect(differences(link("a1", true), link("b2", true), ["link"])).toEqual(["changed header:link;rel=next"]);
    expect(differences(link("a1", true), link("b2", false), ["link"])).toEqual(["changed header:link;rel=next", "removed header:link;rel=first"]);
    expect(differences({ "set-cookie": ["session=abc; Path=/; HttpOnly", "theme=dark"] }, { "set-cookie": ["theme=dark", "session=xyz; Path=/"] }, ["set-cookie"])).toEqual([
      "changed header:set-cookie;session",
      "removed header:set-cookie;session;httponly",
    ]);
    expect(differences({ "cache-control": "private, max-age=0, no-store" }, { "cache-control": "private,max-age=60" }, ["cache-control"])).toEqual(["changed header:cache-control;max-age", "removed header:cache-control;no-store"]);
    // The same parts in another order, or spaced otherwise, are the same header.
    expect(differences({ "cache-control": "public, max-age=60" }, { "cache-control": "max-age=60,public" }, ["cache-control"])).toEqual([]);
    // Other headers are compared whole, as before.
    expect(differences({ etag: '"a"' }, { etag: '"b"' }, ["etag"])).toEqual(["changed header:etag"]);
  });
});
