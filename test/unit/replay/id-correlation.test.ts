import { describe, expect, it } from "vitest";
import { SessionIds } from "../../../src/replay/id-correlation.ts";

describe("ids a replayed write made, mapped into the session's later requests", () => {
  const learned = () => {
    const ids = new SessionIds();
    ids.learn(
      { body: JSON.stringify({ id: "ord_1a", userId: "u_001", createdAt: "2026-12-01T10:00:00.000Z", lines: [{ lineId: 7, sku: "p_1" }], total: 10 }), location: "/api/orders/ord_1a" },
      { body: JSON.stringify({ id: "ord_9z", userId: "u_001", createdAt: "2026-12-07T01:00:00.000Z", lines: [{ lineId: 70, sku: "p_2" }], total: 11 }), location: "/api/orders/ord_9z" },
    );
    return ids;
  };

  it("learns members named like ids and date-times that differ, and the Location's last segment; not other fields", () => {
    const ids = learned();
    // The id and createdAt (the Location names the same id; lineId 7 is too short to rewrite safely).
    expect(ids.size).toBe(2);
    expect(ids.path("/api/orders/ord_1a/items")).toBe("/api/orders/ord_9z/items");
    expect(ids.path("/api/orders/p_1")).toBe("/api/orders/p_1");
    expect(ids.query("order=ord_1a&x=1&line=7")).toBe("order=ord_9z&x=1&line=7");
  });

  it("rewrites ids in a JSON body, keeping numbers numbers; other bodies as they are", () => {
    const ids = new SessionIds();
    ids.learn({ body: '{"id":41}' }, { body: '{"id":42}' });
    expect(JSON.parse(ids.body('{"order":{"id":41},"ids":[41,"41",5]}'))).toEqual({ order: { id: 42 }, ids: [42, "42", 5] });
    expect(ids.body("id=41")).toBe("id=41");
    expect(new SessionIds().body('{"id":41}')).toBe('{"id":41}');
  });

  it("a difference is correlated when the recorded value maps to the candidate's, and only then", () => {
    const ids = learned();
    expect(ids.correlates({ path: "$.id", kind: "changed", left: '"ord_1a"', right: '"ord_9z"' })).toBe(true);
    expect(ids.correlates({ path: "$.createdAt", kind: "changed", left: '"2026-12-01T10:00:00.000Z"', right: '"2026-12-07T01:00:00.000Z"' })).toBe(true);
    expect(ids.correlates({ path: "$.id", kind: "changed", left: '"ord_1a"', right: '"ord_other"' })).toBe(false);
    expect(ids.correlates({ path: "$.total", kind: "changed", left: "10", right: "11" })).toBe(false);
    expect(ids.correlates({ path: "$.id", kind: "type_changed", left: '"ord_1a"', right: '"ord_9z"' })).toBe(false);
  });

  it("recognises a mapped id in the form the candidate's redacted answer shows it", () => {
    const ids = new SessionIds((text) => text.replace(/4111/g, "[x]"));
    ids.learn({ body: '{"id":"ord_a"}' }, { body: '{"id":"ord_4111"}' });
    expect(ids.correlates({ path: "$.id", kind: "changed", left: '"ord_a"', right: '"ord_[x]"' })).toBe(true);
    expect(ids.correlates({ path: "$.id", kind: "changed", left: '"ord_a"', right: '"ord_4111"' })).toBe(true);
    expect(ids.correlates({ path: "$.id", kind: "changed", left: '"ord_a"', right: '"ord_[y]"' })).toBe(false);
  });

  it("ignores ids too short to rewrite safely, and learns a bounded number", () => {
    const ids = new SessionIds();
    ids.learn({ body: '{"id":"1"}' }, { body: '{"id":"2"}' });
    expect(ids.size).toBe(0);
    const many = Array.from({ length: 2_000 }, (_, i) => ({ id: `a_${i}` }));
    ids.learn({ body: JSON.stringify(many) }, { body: JSON.stringify(many.map((m) => ({ id: `${m.id}x` }))) });
    expect(ids.size).toBe(1_000);
  });
});
