import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { diffText, tokenHunks } from "../../../src/shadow/text-diff.ts";

/** `b` rebuilt from `a` and the hunks: what is between them is equal, what is in them is `b`'s. */
function rebuild(a: readonly number[], b: readonly number[], hunks: ReadonlyArray<{ leftFrom: number; leftTo: number; rightFrom: number; rightTo: number }>): number[] {
  const out: number[] = [];
  let x = 0;
  for (const h of hunks) {
    out.push(...a.slice(x, h.leftFrom));
    out.push(...b.slice(h.rightFrom, h.rightTo));
    x = h.leftTo;
  }
  out.push(...a.slice(x));
  return out;
}

describe("token hunks (Myers' diff)", () => {
  it("rebuild the right side from the left for any two sequences, and cover only tokens that differ", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 60 }), (a, b) => {
        const hunks = tokenHunks(Int32Array.from(a), Int32Array.from(b), 1_000);
        expect(hunks).toBeDefined();
        expect(rebuild(a, b, hunks ?? [])).toEqual(b);
        // In order, not overlapping, and the same length of equal text between them on both sides.
        let [x, y] = [0, 0];
        for (const h of hunks ?? []) {
          expect(h.leftFrom - x).toBe(h.rightFrom - y);
          expect(h.leftFrom).toBeGreaterThanOrEqual(x);
          [x, y] = [h.leftTo, h.rightTo];
        }
      }),
      { numRuns: 300 },
    );
  });

  it("find the fewest edits: one token changed in a long sequence is one hunk of one token a side", () => {
    const a = Int32Array.from({ length: 5_000 }, (_, i) => i % 97);
    const b = a.slice();
    b[2_500] = 1_000;
    expect(tokenHunks(a, b)).toEqual([{ leftFrom: 2_500, leftTo: 2_501, rightFrom: 2_500, rightTo: 2_501 }]);
  });

  it("give up past the edit bound (the caller then compares the bodies whole)", () => {
    const a = Int32Array.from({ length: 400 }, (_, i) => i);
    const b = Int32Array.from({ length: 400 }, (_, i) => i + 1_000);
    expect(tokenHunks(a, b, 100)).toBeUndefined();
    expect(tokenHunks(a, b, 800)).toHaveLength(1);
  });
});

describe("diffText", () => {
  const whole = (l: string, r: string) => [{ path: "body", kind: "changed" as const, left: l, right: r }];

  it("whitespace never counts, and equal texts have no difference", () => {
    expect(diffText("<p>a  b</p>\r\n", "<p>a b</p>\n", whole)).toEqual([]);
  });

  it("names a place in markup by the tags before it, in plain text by its line; never by the text's own words", () => {
    const at = (n: number) => `Rendered in ${n} ms at 10:0${n % 10}:1${n % 7}\nfor Alice Smith\n`;
    const paths = new Set<string>();
    for (let n = 0; n < 20; n++) for (const d of diffText(at(n), at(n + 13), whole)) paths.add(d.path);
    expect([...paths]).toEqual(["body:line 1"]);
    const page = (name: string, balance: number) => `<div class="greeting">Welcome back ${name}</div>\n<span id="balance">${balance}</span>\n`;
    expect(diffText(page("Alice", 10), page("Alice", 12), whole).map((d) => d.path)).toEqual(['body:after "span id balance"']);
    expect(diffText(page("Alice", 10), page("Bob", 10), whole).map((d) => d.path)).toEqual(['body:after "div class greeting"']);
  });

  it("shows a credential with the name that says what it is, so the stored rendering can be redacted", () => {
    const body = (token: string) => `${"x ".repeat(30)}Authorization: Bearer ${token} for the call`;
    const [d] = diffText(body("cnAAAAAAAAAAAAAAAA"), body("cnBBBBBBBBBBBBBBBB"), whole);
    // The window never starts between the scheme and its token.
    expect(d?.left).toMatch(/Bearer cnAAAAAAAAAAAAAAAA/);
  });

  it("costs a line split, not a token per character, on a long page with two small changes", () => {
    const page = (token: string, n: number) => `<form><input name="csrf" value="${token}"></form>\n${Array.from({ length: 5_000 }, (_, i) => `<div class="row"><span>Item ${i}</span></div>`).join("\n")}\n<footer>${n}</footer>\n`;
    const started = performance.now();
    const found = diffText(page("abc", 1), page("xyz", 2), whole);
    expect(performance.now() - started).toBeLessThan(2_000); // a wide functional bound: token by token took ~100 ms
    expect(found.map((d) => d.path)).toEqual(['body:after "name csrf value"', 'body:after "span div footer"']);
  });

  it("compares texts too different for a token diff whole", () => {
    const a = Array.from({ length: 3_000 }, (_, i) => `a${i}`).join(" ");
    const b = Array.from({ length: 3_000 }, (_, i) => `b${i}`).join(" ");
    expect(diffText(a, b, whole)).toEqual(whole(a, b));
  });
});
