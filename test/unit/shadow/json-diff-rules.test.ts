import { describe, expect, it } from "vitest";
import { canonical, compileDiffRules, diffJson, diffJsonExplained, type DiffRules } from "../../../src/shadow/json-diff.ts";

const full = (a: unknown, b: unknown, rules: DiffRules = {}) => diffJson(a, b, compileDiffRules(rules));
const diff = (a: unknown, b: unknown, rules: DiffRules = {}) => full(a, b, rules).map((d) => `${d.kind} ${d.path}`);

describe("what a difference carries", () => {
  it("renders both sides as JSON, only the side that exists for added and removed", () => {
    expect(full({ a: 1, gone: "x" }, { a: 2, extra: [true] })).toEqual([
      { path: "$.a", kind: "changed", left: "1", right: "2" },
      { path: "$.gone", kind: "removed", left: '"x"' },
      { path: "$.extra", kind: "added", right: "[true]" },
    ]);
    expect(full({ items: [3, 1] }, { items: [1, 3] })).toEqual([{ path: "$.items", kind: "order" }]);
  });

  it("cuts a rendering longer than 120 characters to 119 and an ellipsis", () => {
    const fits = "x".repeat(118); // 120 with its quotes
    const long = "y".repeat(119); // 121 with its quotes
    const [d] = full({ v: fits }, { v: long });
    expect(d?.left).toBe(JSON.stringify(fits));
    expect(d?.right).toBe(`${JSON.stringify(long).slice(0, 119)}…`);
    expect(d?.right).toHaveLength(120);
  });

  it("tells null from objects and zero: a type change, never a crash", () => {
    expect(diff({ a: null }, { a: null })).toEqual([]);
    expect(full({ a: null }, { a: {} })).toEqual([{ path: "$.a", kind: "type_changed", left: "null", right: "{}" }]);
    expect(diff({ a: null }, { a: 0 })).toEqual(["type_changed $.a"]);
    expect(diff([null, { id: 1 }], [{ id: 1 }, null])).toEqual(["order $"]);
  });

  it("keeps at most 500 differences", () => {
    const left = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${i}`, i]));
    const right = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${i}`, i + 1]));
    expect(full(left, right)).toHaveLength(500);
    // Fields only one side has are added without a descent: the cap holds for them too.
    expect(full(left, {})).toHaveLength(500);
    expect(full({}, right)).toHaveLength(500);
  });
});

describe("ignored paths", () => {
  it("drop added and removed fields as well as changed ones", () => {
    expect(diff({ a: 1, old: 1 }, { a: 1, fresh: 2 }, { ignore: ["$.old", "$.fresh"] })).toEqual([]);
  });

  it("drop everything below an ignored object", () => {
    expect(diff({ meta: { x: 1, y: [1] } }, { meta: { x: 2, y: [2], z: 3 } }, { ignore: ["$.meta"] })).toEqual([]);
  });

  it("leave an element that differs only in them the same element, wherever it moved", () => {
    const left = [{ sku: "a", seenAt: 1 }, { sku: "b", seenAt: 2 }];
    const right = [{ sku: "x", seenAt: 0 }, { sku: "a", seenAt: 9 }, { sku: "b", seenAt: 8 }];
    expect(diff(left, right, { ignore: ["$[*].seenAt"], keyNames: [] })).toEqual(["added $[0]"]);
    expect(diff([[{ sku: "a", t: 1 }]], [[{ sku: "a", t: 2 }]], { ignore: ["$[*][*].t"], keyNames: [] })).toEqual([]);
  });
});

describe("tolerances", () => {
  it("numbers within the tolerance, inclusive, are equal", () => {
    expect(diff({ p: 1 }, { p: 1.5 }, { numericTolerance: 0.5 })).toEqual([]);
    expect(diff({ p: 1 }, { p: 1.5 })).toEqual(["changed $.p"]);
  });

  it("ISO-8601 timestamps within the tolerance, inclusive, are equal, in any zone and with or without fractions", () => {
    const rules = { timestampToleranceMs: 1_000 };
    expect(diff({ t: "2026-01-01T00:00:00Z" }, { t: "2026-01-01T00:00:01Z" }, rules)).toEqual([]);
    expect(diff({ t: "2026-01-01T00:00:00.5Z" }, { t: "2026-01-01T01:00:01+01:00" }, rules)).toEqual([]);
    expect(diff({ t: "2026-01-01T00:00:00Z" }, { t: "2026-01-01T00:00:01.001Z" }, rules)).toEqual(["changed $.t"]);
    expect(diff({ t: "2026-01-01T00:00:00Z" }, { t: "2026-01-01T00:00:01Z" })).toEqual(["changed $.t"]);
  });

  it("strings that are not whole ISO-8601 timestamps are compared exactly", () => {
    const rules = { timestampToleranceMs: 60_000 };
    for (const [a, b] of [
      ["2026-01-01T00:00:00", "2026-01-01T00:00:01"], // no zone
      ["at 2026-01-01T00:00:00Z", "at 2026-01-01T00:00:01Z"], // not at the start
      ["2026-01-01T00:00:00Z!", "2026-01-01T00:00:01Z!"], // not at the end
      ["2026-01-01T00:00:00.Z", "2026-01-01T00:00:01.Z"], // a dot without digits
      ["2026-01-01T00:00:00 01:00", "2026-01-01T00:00:01 01:00"], // no sign
      ["2026-01-01T00:00:00+1:00", "2026-01-01T00:00:01+1:00"], // one-digit hour offset
      ["2026-01-01T00:00:00+01:0", "2026-01-01T00:00:01+01:0"], // one-digit minute offset
      ["2026-01-01T00:00:00+ab:00", "2026-01-01T00:00:01+ab:00"],
      ["2026-01-01T00:00:00+01:ab", "2026-01-01T00:00:01+01:ab"],
    ]) {
      expect(diff({ t: a }, { t: b }, rules), a).toEqual(["changed $.t"]);
    }
    expect(diff({ t: "2026-01-01T00:00:00-05:00" }, { t: "2026-01-01T05:00:30Z" }, rules)).toEqual([]);
  });

  it("a number is never equal to a string, whatever the tolerance", () => {
    expect(diff({ p: 1 }, { p: "1" }, { numericTolerance: 1 })).toEqual(["type_changed $.p"]);
  });
});

describe("automatic keys", () => {
  it("pair by a unique string or number id, so a changed element reads as its changed field", () => {
    const numbers = diffJsonExplained([{ id: 1, v: 1 }, { id: 2, v: 2 }], [{ id: 2, v: 3 }, { id: 1, v: 1 }], compileDiffRules());
    expect(numbers.differences.map((d) => `${d.kind} ${d.path}`)).toEqual(["changed $[1].v", "order $"]);
    expect([...numbers.autoKeyed]).toEqual([["$", "id"]]);
    expect(diff([{ id: "a", v: 1 }, { id: "b", v: 2 }], [{ id: "b", v: 3 }, { id: "a", v: 1 }])).toEqual(["changed $[1].v", "order $"]);
  });

  it("need every element on both sides to have one: booleans, missing or repeated ids pair by identity, then by similarity", () => {
    const autoKeys = (a: unknown, b: unknown) => [...diffJsonExplained(a, b, compileDiffRules()).autoKeyed];
    // No automatic key for these; the elements that share a field value still pair (by similarity), so the
    // change reads as one field's, where it used to read as one element removed and another added.
    expect(autoKeys([{ id: true, v: 1 }, { id: false, v: 2 }], [{ id: false, v: 3 }, { id: true, v: 1 }])).toEqual([]);
    expect(diff([{ id: true, v: 1 }, { id: false, v: 2 }], [{ id: false, v: 3 }, { id: true, v: 1 }])).toEqual(["order $", "changed $[1].v"]);
    expect(diff([{ id: 1, v: 1 }, { id: 1, v: 2 }], [{ id: 1, v: 3 }, { id: 1, v: 1 }])).toEqual(["order $", "changed $[1].v"]);
    // Sharing nothing, an element is still removed and another added.
    expect(autoKeys([{ id: 1, v: 1 }, { v: 2 }], [{ v: 3 }, { id: 1, v: 1 }])).toEqual([]);
    expect(diff([{ id: 1, v: 1 }, { v: 2 }], [{ v: 3 }, { id: 1, v: 1 }])).toEqual(["added $[0]", "removed $[1]"]);
    // Unique on the left only is not enough.
    expect(diff([{ id: 1, v: 1 }, { id: 2, v: 2 }], [{ id: 2, v: 3 }, { id: 2, v: 1 }]).some((d) => d.startsWith("order"))).toBe(false);
  });

  it("whose type changed (the service's \"42\" for the monolith's 42) still pair, and the key reads type_changed", () => {
    const monolith = { items: [{ id: 41, price: 5 }, { id: 42, price: 7 }, { id: 43, price: 9 }] };
    const service = { items: [{ id: "41", price: 5 }, { id: "42", price: 8 }, { id: "43", price: 9 }] };
    const explained = diffJsonExplained(monolith, service, compileDiffRules());
    expect([...explained.autoKeyed]).toEqual([["$.items", "id"]]);
    expect(explained.differences.map((d) => `${d.kind} ${d.path}`)).toEqual([
      "type_changed $.items[0].id",
      "type_changed $.items[1].id",
      "changed $.items[1].price",
      "type_changed $.items[2].id",
    ]);
    // In any order: still paired (an order difference, not every element removed and added).
    expect(diff(monolith, { items: [service.items[2], service.items[0], service.items[1]] }).filter((d) => !d.startsWith("type_changed"))).toEqual(["changed $.items[1].price", "order $.items"]);
  });

  it("are tried in the order given, and none are tried on an empty pair of arrays", () => {
    const rules = { keyNames: ["sku", "id"] };
    const explained = diffJsonExplained({ a: [{ sku: "x", id: 1 }] }, { a: [{ sku: "x", id: 2 }] }, compileDiffRules(rules));
    expect([...explained.autoKeyed]).toEqual([["$.a", "sku"]]);
    expect(explained.differences.map((d) => d.path)).toEqual(["$.a[0].id"]);
    expect([...diffJsonExplained({ a: [] }, { a: [] }, compileDiffRules()).autoKeyed]).toEqual([]);
  });
});

describe("a key rule on an array of scalars", () => {
  it("pairs the scalars by value", () => {
    expect(diff({ a: [1, 2, 2] }, { a: [2, 1, 2] }, { arrays: [{ path: "$.a", key: "id" }] })).toEqual([]);
    expect(diff({ a: [1, 2] }, { a: [2, 3] }, { arrays: [{ path: "$.a", key: "id" }] })).toEqual(["removed $.a[0]", "added $.a[1]"]);
  });
});

describe("sets (unordered arrays)", () => {
  it("report a scalar or null that is not on the other side as removed and added, not changed", () => {
    const rules = { arrays: [{ path: "$.tags", unordered: true as const }] };
    expect(diff({ tags: ["a", null] }, { tags: ["a", { x: 1 }] }, rules)).toEqual(["removed $.tags[1]", "added $.tags[1]"]);
    expect(diff({ tags: ["a", "b"] }, { tags: ["a", "c"] }, rules)).toEqual(["removed $.tags[1]", "added $.tags[1]"]);
    // In an ordered array the same place holds one changed value.
    expect(diff({ tags: ["a", "b"] }, { tags: ["a", "c"] }, { keyNames: [] })).toEqual(["changed $.tags[1]"]);
  });
});

describe("canonical forms", () => {
  it("write scalars as JSON, arrays in order and objects with sorted keys", () => {
    expect(canonical(null)).toBe("null");
    expect(canonical(undefined)).toBe("undefined");
    expect(canonical("x")).toBe('"x"');
    expect(canonical([2, 1])).toBe("[2,1]");
    expect(canonical({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });

  it("write every scalar exactly as JSON.stringify does, on the short path and the long one", () => {
    const long = "y".repeat(65);
    const scalars = ["", "plain", 'a "quote"', "back\\slash", "tab\there", "new\nline", "\u0001", "é ünïcödé", "😀", "\ud800 lone", "\udfff", long, `${long}"`, 0, -0, 1.5, -2e-7, 1e21, 123456789012345680000, Number.MAX_VALUE, NaN, Infinity, -Infinity, true, false, null];
    for (const value of scalars) expect(canonical(value)).toBe(JSON.stringify(value));
    expect(canonical([["a\"b"], { "k\u0000": "v" }])).toBe(JSON.stringify([["a\"b"], { "k\u0000": "v" }]));
  });
});

describe("identity pairing, case by case", () => {
  it("without a tolerance, the same instant written in another zone is a change", () => {
    expect(diff({ t: "2026-01-01T00:00:00Z" }, { t: "2026-01-01T01:00:00+01:00" })).toEqual(["changed $.t"]);
  });

  it("reports a set-aside field's difference in place when the elements are otherwise the same", () => {
    expect(diff([{ a: 1, at: 1 }, { a: 2, at: 1 }], [{ a: 1, at: 2 }, { a: 2, at: 1 }], { setAside: ["$[*].at"], keyNames: [] })).toEqual(["changed $[0].at"]);
    expect(diff([{ a: 1, at: 1 }, { a: 2, at: 1 }], [{ a: 2, at: 1 }, { a: 1, at: 2 }], { setAside: ["$[*].at"], keyNames: [] })).toEqual(["order $", "changed $[0].at"]);
  });

  it("pairs repeated elements one for one, in order", () => {
    expect(diff([1, 1, 3], [1, 1, 2], { keyNames: [] })).toEqual(["changed $[2]"]);
  });

  it("when pairs cross, the leftovers are removed and added, not changed", () => {
    expect(diff([1, 2, 3], [2, 1, 4], { keyNames: [] })).toEqual(["order $", "removed $[2]", "added $[2]"]);
  });

  it("an element's identity does not depend on its key order, with fields skipped", () => {
    expect(diff([{ a: 1, b: 2, t: 1 }, { c: 3 }], [{ c: 3 }, { b: 2, a: 1, t: 2 }], { ignore: ["$[*].t"], keyNames: [] })).toEqual(["order $"]);
  });

  it("a key must be unique on both sides, not only on the right", () => {
    // Unique on the left, repeated on the right: no automatic key. By identity only {id 1} pairs; {id 2}
    // pairs by similarity with the nearer of the two right elements that share its id.
    const left = [{ id: 1, v: 1 }, { id: 2, v: 2 }];
    const right = [{ id: 2, v: 3 }, { id: 2, v: 9 }, { id: 1, v: 1 }];
    expect([...diffJsonExplained(left, right, compileDiffRules()).autoKeyed]).toEqual([]);
    expect(diff(left, right)).toEqual(["order $", "changed $[1].v", "added $[0]"]);
  });
});

describe("the cap on differences", () => {
  it("bounds real differences only: a noisy field in each of 2,000 elements does not hide one real change deep inside", () => {
    const monolith = { items: Array.from({ length: 2_000 }, (_, i) => ({ sku: `s${i}`, price: i, token: `a${i}` })) };
    const service = { items: monolith.items.map((e, i) => ({ ...e, token: `b${i}`, price: i === 1_500 ? -1 : e.price })) };
    const withNoise = diff(monolith, service, { setAside: ["$.items[*].token"], keyNames: [] });
    expect(withNoise.filter((d) => !d.endsWith(".token"))).toEqual(["changed $.items[1500].price"]);
    expect(withNoise.filter((d) => d.endsWith(".token"))).toHaveLength(2_000);
    // Without the noise learned, the first 500 differences are the tokens: the cap stops there.
    const unlearned = diff(monolith, service, { keyNames: [] });
    expect(unlearned).toHaveLength(500);
    expect(unlearned.some((d) => d.endsWith(".price"))).toBe(false);
  });

  it("bounds the noise kept too, apart", () => {
    const many = { items: Array.from({ length: 6_000 }, (_, i) => ({ token: `a${i}` })) };
    const other = { items: many.items.map((_, i) => ({ token: `b${i}` })) };
    expect(diff(many, other, { setAside: ["$.items[*].token"], keyNames: [] })).toHaveLength(5_000);
  });
});


describe("numbers, types and absent fields", () => {
  it("within the numeric tolerance is equal; beyond it is changed; a number's string is type_changed", () => {
    const rules = { numericTolerance: 0.001 };
    expect(diff({ price: 4.99 }, { price: 4.990000001 }, rules)).toEqual([]);
    expect(diff({ price: 4.99 }, { price: 5.99 }, rules)).toEqual(["changed $.price"]);
    expect(full({ price: 4.99 }, { price: "4.99" }, rules)).toEqual([{ path: "$.price", kind: "type_changed", left: "4.99", right: '"4.99"' }]);
  });

  it("null on one side and the field missing on the other is null_vs_missing, either way round; a value missing stays removed or added", () => {
    expect(full({ a: 1, discount: null }, { a: 1 })).toEqual([{ path: "$.discount", kind: "null_vs_missing", left: "null" }]);
    expect(full({ a: 1 }, { a: 1, discount: null })).toEqual([{ path: "$.discount", kind: "null_vs_missing", right: "null" }]);
    expect(diff({ discount: 0 }, {})).toEqual(["removed $.discount"]);
    expect(diff({}, { discount: "" })).toEqual(["added $.discount"]);
    expect(diff({ discount: null }, { discount: 0 })).toEqual(["type_changed $.discount"]);
  });

  it("the order of an object's keys never matters", () => {
    expect(diff({ a: 1, b: { c: 2, d: [1, { e: 3, f: 4 }] } }, { b: { d: [1, { f: 4, e: 3 }], c: 2 }, a: 1 })).toEqual([]);
  });
});
