import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { signaturePath } from "../../../src/json/json-path.ts";
import { compileDiffRules, diffJson, type DiffRules } from "../../../src/shadow/json-diff.ts";
import { NoiseModel } from "../../../src/shadow/noise-model.ts";

const diff = (a: unknown, b: unknown, rules: DiffRules = {}) => diffJson(a, b, compileDiffRules(rules)).map((d) => `${d.kind} ${d.path}`);

describe("arrays of objects: paired element by element (the issue's repros)", () => {
  const left = [{ id: 1, t: "a", u: "1" }, { id: 2, t: "b", u: "2" }];
  const right = [{ id: 2, t: "b", u: "3" }, { id: 1, t: "a", u: "4" }];

  it("a reordered array whose elements differ only in ignored fields is one `order`, not a storm of changes", () => {
    expect(diff(left, right, { ignore: ["$[*].u"] })).toEqual(["order $"]);
    // The same without the automatic key: paired by identity, the ignored field set aside.
    expect(diff(left, right, { ignore: ["$[*].u"], keyNames: [] })).toEqual(["order $"]);
  });

  it("the same as a set (unordered) is no difference at all", () => {
    expect(diff(left, right, { ignore: ["$[*].u"], arrays: [{ path: "$", unordered: true }] })).toEqual([]);
  });

  it("learned noise is set aside for pairing, and still reported at its field for the noise filter", () => {
    expect(diff(left, right, { setAside: ["$[*].u"], keyNames: [] }).sort()).toEqual(["changed $[0].u", "changed $[1].u", "order $"]);
  });

  it("a keyed array's order does not count unless the rule says ordered", () => {
    const a = { items: [{ sku: "x", n: 1 }, { sku: "y", n: 2 }] };
    const b = { items: [{ sku: "y", n: 2 }, { sku: "x", n: 1 }] };
    expect(diff(a, b, { arrays: [{ path: "$.items", key: "sku" }] })).toEqual([]);
    expect(diff(a, b, { arrays: [{ path: "$.items", key: "sku", ordered: true }] })).toEqual(["order $.items"]);
    const changed = { items: [{ sku: "y", n: 2 }, { sku: "x", n: 9 }] };
    expect(diff(a, changed, { arrays: [{ path: "$.items", key: "sku" }] })).toEqual(["changed $.items[0].n"]);
  });

  it("an automatic key pairs by id without configuration; its order still counts; non-unique ids fall back to identity", () => {
    const a = [{ id: "a", v: 1 }, { id: "b", v: 2 }, { id: "c", v: 3 }];
    expect(diff(a, [{ id: "c", v: 3 }, { id: "a", v: 1 }, { id: "b", v: 20 }])).toEqual(["changed $[1].v", "order $"]);
    expect(diff(a, [a[0], a[2]])).toEqual(["removed $[1]"]);
    const dup = [{ id: 1, v: 1 }, { id: 1, v: 2 }];
    expect(diff(dup, [{ id: 1, v: 2 }, { id: 1, v: 1 }])).toEqual(["order $"]);
  });

  it("noise learned from a monolith whose list order varies is the order, never 'any element may be missing'", () => {
    const noise = new NoiseModel([], () => 0);
    const items = [{ sku: "a", at: "t1" }, { sku: "b", at: "t2" }, { sku: "c", at: "t3" }];
    // Two old-against-old samples: the same elements in other orders.
    for (const again of [[items[2], items[0], items[1]], [items[1], items[2], items[0]]]) {
      noise.observe("r", diffJson({ items }, { items: again }, compileDiffRules({ keyNames: [] })).map((d) => signaturePath(d.path)));
    }
    expect(noise.isNoise("r", "$.items", 2)).toBe(true); // the order
    expect(noise.isNoise("r", "$.items[*]", 2)).toBe(false);
    // The service drops an element: reported, and not as noise.
    const dropped = diffJson({ items }, { items: [items[1], items[0]] }, compileDiffRules({ keyNames: [], setAside: noise.noisePaths("r", 2) }));
    const real = dropped.filter((d) => !noise.isNoise("r", signaturePath(d.path), 2));
    expect(real.map((d) => `${d.kind} ${signaturePath(d.path)}`)).toEqual(["removed $.items[*]"]);
  });
});

// ---- Property-based: random documents, random noise fields, random edits ----

/** A list of records with unique `sku`s, some scalar fields, and a noisy field (`stamp`) that is ignored. */
const records = fc
  .uniqueArray(fc.integer({ min: 0, max: 10_000 }), { minLength: 2, maxLength: 25 })
  .chain((skus) =>
    fc.tuple(
      fc.constant(skus),
      fc.array(fc.record({ name: fc.string({ maxLength: 6 }), price: fc.integer({ min: 0, max: 99 }), on: fc.boolean() }), { minLength: skus.length, maxLength: skus.length }),
    ),
  )
  .map(([skus, fields]) => skus.map((sku, i) => ({ sku: `s${sku}`, ...(fields[i] as object), stamp: `${i}` })));

/** Every element a new `stamp`: noise that must never produce a signature. */
const restamp = (list: ReadonlyArray<Record<string, unknown>>) => list.map((e, i) => ({ ...e, stamp: `x${i}-${Math.random()}` }));

const modes: Array<[string, DiffRules]> = [
  ["by identity", { ignore: ["$.items[*].stamp"], keyNames: [] }],
  ["by a key rule", { ignore: ["$.items[*].stamp"], arrays: [{ path: "$.items", key: "sku" }] }],
  ["by an automatic key", { ignore: ["$.items[*].stamp"], keyNames: ["sku"] }],
  ["as a set", { ignore: ["$.items[*].stamp"], arrays: [{ path: "$.items", unordered: true }], keyNames: [] }],
];

describe.each(modes)("array pairing properties, %s", (mode, rules) => {
  const keyed = rules.arrays?.some((a) => a.key !== undefined) === true;
  const unordered = rules.arrays?.some((a) => a.unordered === true) === true;
  const signatures = (a: unknown, b: unknown) => diffJson(a, b, compileDiffRules(rules)).map((d) => `${d.kind} ${signaturePath(d.path)}`);

  it("a permutation is exactly one `order` (nothing when keyed or unordered); noise never shows", () => {
    fc.assert(
      fc.property(records, fc.integer(), (list, seed) => {
        const shuffled = fc.sample(fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }), { numRuns: 1, seed })[0] as typeof list;
        const same = shuffled.every((e, i) => e === list[i]);
        const expected = same || keyed || unordered ? [] : ["order $.items"];
        expect(signatures({ items: list }, { items: restamp(shuffled) })).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it("removing one element is exactly one `removed`", () => {
    fc.assert(
      fc.property(records, fc.nat(), (list, pick) => {
        const at = pick % list.length;
        const fewer = list.filter((_, i) => i !== at);
        expect(signatures({ items: list }, { items: restamp(fewer) })).toEqual(["removed $.items[*]"]);
      }),
      { numRuns: 150 },
    );
  });

  it("changing one field of one element is exactly one `changed` at that field", () => {
    fc.assert(
      fc.property(records, fc.nat(), fc.constantFrom("name", "price", "on"), (list, pick, field) => {
        const at = pick % list.length;
        const edited = list.map((e, i) => {
          if (i !== at) return e;
          const value = (e as Record<string, unknown>)[field];
          return { ...e, [field]: typeof value === "number" ? value + 1 : typeof value === "boolean" ? !value : `${String(value)}!` };
        });
        expect(signatures({ items: list }, { items: restamp(edited) })).toEqual([`changed $.items[*].${field}`]);
      }),
      { numRuns: 150 },
    );
  });

  it(`(${mode}) identical documents with only noise changed have no difference`, () => {
    fc.assert(
      fc.property(records, (list) => {
        expect(signatures({ items: list }, { items: restamp(list) })).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });
});
