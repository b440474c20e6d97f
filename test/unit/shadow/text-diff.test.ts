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

  it("names a place inside a number by the words before it, so a counter or a timestamp is one signature on every page", () => {
    const at = (n: number) => `Rendered in ${n} ms at 10:0${n % 10}:1${n % 7}`;
    const paths = new Set<string>();
    for (let n = 0; n < 20; n++) for (const d of diffText(at(n), at(n + 13), whole)) paths.add(d.path);
    expect([...paths].sort()).toEqual(['body:after "Rendered in"', 'body:after "in ms at"']);
  });

  it("compares texts too different for a token diff whole", () => {
    const a = Array.from({ length: 3_000 }, (_, i) => `a${i}`).join(" ");
    const b = Array.from({ length: 3_000 }, (_, i) => `b${i}`).join(" ");
    expect(diffText(a, b, whole)).toEqual(whole(a, b));
  });
});
