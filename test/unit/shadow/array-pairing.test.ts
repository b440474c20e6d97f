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
      noise.observe("r", diffJson({ items }, { items: again }, compileDiffRules({ keyNames: [] })).map((d) => ({ path: signaturePath(d.path), kind: d.kind })));
    }
    expect(noise.isNoise("r", "$.items", "order", 2)).toBe(true); // the order
    expect(noise.isNoise("r", "$.items[*]", "removed", 2)).toBe(false);
    // And only the order: the same array changing type is not noise.
    expect(noise.isNoise("r", "$.items", "type_changed", 2)).toBe(false);
    // The service drops an element: reported, and not as noise.
    const dropped = diffJson({ items }, { items: [items[1], items[0]] }, compileDiffRules({ keyNames: [], setAside: noise.noisePaths("r", 2) }));
    const real = dropped.filter((d) => !noise.isNoise("r", signaturePath(d.path), d.kind, 2));
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

// ---- Before the noise is learned: the noisy field defeats identity, and similarity pairs the elements ----

const similarityModes: Array<[string, DiffRules]> = [
  ["ordered, no key", { keyNames: [] }],
  ["as a set", { arrays: [{ path: "$.items", unordered: true }], keyNames: [] }],
];

describe.each(similarityModes)("similarity pairing with per-element noise not yet learned, %s", (_mode, rules) => {
  const unordered = rules.arrays?.some((a) => a.unordered === true) === true;
  const differences = (a: unknown, b: unknown) => diffJson(a, b, compileDiffRules(rules)).map((d) => ({ kind: d.kind, signature: signaturePath(d.path), path: d.path }));
  /** The differences less the noisy field's (the noise filter's to judge, one signature whatever the count). */
  const real = (a: unknown, b: unknown) => {
    const all = differences(a, b);
    // The noise shows as what it is, and as nothing else: a `changed` at the noisy field.
    for (const d of all.filter((d) => d.signature === "$.items[*].stamp")) expect(d.kind).toBe("changed");
    return all.filter((d) => d.signature !== "$.items[*].stamp").map((d) => `${d.kind} ${d.signature}`);
  };
  const shuffle = (list: ReadonlyArray<Record<string, unknown>>, seed: number) => fc.sample(fc.shuffledSubarray([...list], { minLength: list.length, maxLength: list.length }), { numRuns: 1, seed })[0] as Array<Record<string, unknown>>;

  it("a permutation with a noisy field in every element is one `order` (nothing as a set), never a cascade of `changed`", () => {
    fc.assert(
      fc.property(records, fc.integer(), (list, seed) => {
        const shuffled = shuffle(list, seed);
        const same = shuffled.every((e, i) => e === list[i]);
        expect(real({ items: list }, { items: restamp(shuffled) })).toEqual(same || unordered ? [] : ["order $.items"]);
      }),
      { numRuns: 150 },
    );
  });

  it("one field changed in one element of such a permutation is one `changed` at that field, at the element it belongs to", () => {
    fc.assert(
      fc.property(records, fc.integer(), fc.nat(), fc.constantFrom("name", "price", "on"), (list, seed, pick, field) => {
        const at = pick % list.length;
        const edited = list.map((e, i) => {
          if (i !== at) return e;
          const value = (e as Record<string, unknown>)[field];
          return { ...e, [field]: typeof value === "number" ? value + 1 : typeof value === "boolean" ? !value : `${String(value)}!` };
        });
        const shuffled = shuffle(edited, seed);
        const same = shuffled.every((e, i) => e === edited[i]);
        const found = real({ items: list }, { items: restamp(shuffled) });
        expect(found.filter((d) => d !== "order $.items")).toEqual([`changed $.items[*].${field}`]);
        expect(found.includes("order $.items")).toBe(!same && !unordered);
        // Reported at the monolith's element that changed, not at a neighbour.
        const changed = differences({ items: list }, { items: restamp(shuffled) }).find((d) => d.signature === `$.items[*].${field}`);
        expect(changed?.path).toBe(`$.items[${at}].${field}`);
      }),
      { numRuns: 150 },
    );
  });
});

describe("similarity pairing, case by case", () => {
  it("a reversed keyless list whose every element has a new score is one order and the scores, where it was every field", () => {
    const list = [
      { name: "tea", price: 4.99, score: 0.31 },
      { name: "jam", price: 3.5, score: 0.72 },
      { name: "oats", price: 2.25, score: 0.13 },
    ];
    const reversed = [...list].reverse().map((e) => ({ ...e, score: e.score + 0.01 }));
    expect(diff(list, reversed, { keyNames: [] })).toEqual(["order $", "changed $[0].score", "changed $[1].score", "changed $[2].score"]);
  });

  it("pairs by the fields that tell elements apart: a value all elements share does not decide", () => {
    // 40 books in reverse, each with a new stamp; the monolith's last two are gone from the service's
    // answer, and one new book there shares its shelf with the monolith's last one. That book pairs with
    // the last (its shelf), not with the one before it; the other is removed.
    const left = Array.from({ length: 40 }, (_, i) => ({ type: "book", title: `t${i}`, shelf: `s${i}`, stamp: `a${i}` }));
    const right = left.slice(0, 38).map((e) => ({ ...e, stamp: `b${e.title}` }));
    right.reverse();
    right.push({ type: "book", title: "new", shelf: "s39", stamp: "c" });
    const found = diff(left, right, { keyNames: [] });
    expect(found.filter((d) => !d.endsWith(".stamp"))).toEqual(["order $", "changed $[39].title", "removed $[38]"]);
  });

  it("costs in proportion to the elements, whatever the array's size: 20,000 reversed noisy elements pair in well under a second", () => {
    const left = Array.from({ length: 20_000 }, (_, i) => ({ type: "row", n: i, stamp: `a${i}` }));
    const right = [...left].reverse().map((e) => ({ ...e, stamp: `b${e.n}` }));
    const started = performance.now();
    const found = diffJson(left, right, compileDiffRules({ keyNames: [] }));
    // A functional bound, with a wide margin: quadratic pairing would take minutes.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(found[0]).toEqual({ path: "$", kind: "order" });
    expect(found.slice(1).every((d) => d.kind === "changed" && d.path.endsWith(".stamp"))).toBe(true);
  });
});
