import { describe, expect, it } from "vitest";
import { compileDiffRules, diffJson, type DiffRules } from "../../../src/shadow/json-diff.ts";
import { compilePathPatterns, signaturePath } from "../../../src/json/json-path.ts";

const diff = (a: unknown, b: unknown, rules: DiffRules = {}) => diffJson(a, b, compileDiffRules(rules)).map((d) => `${d.kind} ${d.path}`);

describe("diffJson", () => {
  it("finds changed, type_changed, added and removed fields with their paths", () => {
    expect(
      diff(
        { id: 1, price: 4.99, name: "a", gone: true, nested: { x: [1, 2] }, "odd key": 1 },
        { id: 1, price: "4.99", name: "b", extra: null, nested: { x: [1, 3] }, "odd key": 2 },
      ),
    ).toEqual(["type_changed $.price", "changed $.name", "removed $.gone", "changed $.nested.x[1]", 'changed $["odd key"]', "null_vs_missing $.extra"]);
  });

  it("equal documents, whatever their key order, have no differences", () => {
    expect(diff({ a: 1, b: { c: [1, { d: 2 }] } }, { b: { c: [1, { d: 2 }] }, a: 1 })).toEqual([]);
  });

  it("equal scalars and equal lists of scalars differ nowhere, under any array rule, beside a field that differs", () => {
    const left = { id: "p_1", tags: ["a", "b", "a"], ids: [1, 2], none: null, flags: [true, null], empty: [], price: 4.99 };
    const right = { ...left, tags: [...left.tags], ids: [...left.ids], flags: [...left.flags], empty: [], price: "4.99" };
    for (const rules of [{}, { arrays: [{ path: "$.tags", key: "id", ordered: true }] }, { arrays: [{ path: "$.tags", unordered: true }] }, { setAside: ["$.tags[*]"] }]) {
      expect(diff(left, right, rules), JSON.stringify(rules)).toEqual(["type_changed $.price"]);
    }
    // A list of scalars that differs in one place, or in its length, is still diffed element by element.
    expect(diff({ tags: ["a", "b"] }, { tags: ["a", "c"] })).toEqual(["changed $.tags[1]"]);
    expect(diff({ tags: ["a"] }, { tags: ["a", "a"] })).toEqual(["added $.tags[1]"]);
    // A field absent on one side, or null on one side, is a difference even where the other side's value is a scalar.
    expect(diff({ a: null }, {})).toEqual(["null_vs_missing $.a"]);
    expect(diff({}, { a: 1 })).toEqual(["added $.a"]);
    expect(diff({ a: null }, { a: 0 })).toEqual(["type_changed $.a"]);
  });

  it("the same elements in another order are one `order` difference", () => {
    expect(diff({ items: [{ id: 1 }, { id: 2 }, { id: 3 }] }, { items: [{ id: 3 }, { id: 1 }, { id: 2 }] })).toEqual(["order $.items"]);
  });

  it("arrays matched by key: one inserted element is one difference, not one per shifted element", () => {
    const left = { items: Array.from({ length: 50 }, (_, i) => ({ id: i, v: i * 2 })) };
    const right = { items: [{ id: 999, v: 0 }, ...left.items] };
    expect(diff(left, right, { keyNames: [] }).length).toBe(1); // by identity, even without a key
    expect(diff(left, right)).toEqual(["added $.items[0]"]); // by the automatic key, id
    expect(diff(left, right, { arrays: [{ path: "$.items", key: "id" }] })).toEqual(["added $.items[0]"]);
    const changedOne = { items: left.items.map((e) => (e.id === 7 ? { ...e, v: -1 } : e)) };
    expect(diff(left, changedOne, { arrays: [{ path: "$.items", key: "id" }] })).toEqual(["changed $.items[7].v"]);
  });

  it("arrays compared as sets ignore order and report the odd ones out", () => {
    expect(diff({ tags: ["a", "b", "c"] }, { tags: ["c", "a", "b"] }, { arrays: [{ path: "$.tags", unordered: true }] })).toEqual([]);
    expect(diff({ tags: ["a", "b"] }, { tags: ["b", "z"] }, { arrays: [{ path: "$.tags", unordered: true }] })).toEqual(["removed $.tags[0]", "added $.tags[1]"]);
  });

  it("ignores configured paths, with * for any key or index", () => {
    const a = { meta: { requestId: "x", at: 1 }, items: [{ id: 1, seenAt: "t1" }, { id: 2, seenAt: "t2" }] };
    const b = { meta: { requestId: "y", at: 1 }, items: [{ id: 1, seenAt: "t3" }, { id: 2, seenAt: "t4" }] };
    expect(diff(a, b, { ignore: ["$.meta.requestId", "$.items[*].seenAt"] })).toEqual([]);
    expect(diff(a, b, { ignore: ["$.*.requestId"] })).toEqual(["changed $.items[0].seenAt", "changed $.items[1].seenAt"]);
  });

  it("numbers and timestamps within a tolerance are equal", () => {
    expect(diff({ p: 1.0 }, { p: 1.004 }, { numericTolerance: 0.01 })).toEqual([]);
    expect(diff({ p: 1.0 }, { p: 1.02 }, { numericTolerance: 0.01 })).toEqual(["changed $.p"]);
    const at = { at: "2026-01-01T00:00:00.000Z" };
    expect(diff(at, { at: "2026-01-01T00:00:00.900Z" }, { timestampToleranceMs: 1000 })).toEqual([]);
    expect(diff(at, { at: "2026-01-01T00:00:02.000Z" }, { timestampToleranceMs: 1000 })).toEqual(["changed $.at"]);
  });

  it("reports a length difference by position when no rule applies", () => {
    expect(diff([1, 2], [1, 2, 3])).toEqual(["added $[2]"]);
    expect(diff([1, 2, 3], [1])).toEqual(["removed $[1]", "removed $[2]"]);
  });

  it("renders both values, short", () => {
    const [d] = diffJson({ price: 4.99 }, { price: "4.99" }, compileDiffRules());
    expect(d).toEqual({ path: "$.price", kind: "type_changed", left: "4.99", right: '"4.99"' });
  });
});

describe("JSON path patterns", () => {
  it("signature paths collapse indices", () => {
    expect(signaturePath("$.items[3].tags[10].x")).toBe("$.items[*].tags[*].x");
  });
  it("match keys and indices with *", () => {
    const m = compilePathPatterns(["$.items[*].price", "$.*.email", '$["a b"]']);
    expect(m.matches("$.items[4].price")).toBe(true);
    expect(m.matches("$.user.email")).toBe(true);
    expect(m.matches('$["a b"]')).toBe(true);
    expect(m.matches("$.items[4].name")).toBe(false);
    expect(m.matches("$.user.profile.email")).toBe(false);
  });
});
