import { describe, expect, it } from "vitest";
import { readableDiff } from "../../../src/admin/readable-diff.ts";

describe("readableDiff: one line per difference, the monolith's value first", () => {
  it("names a body field by its JSON path and kind", () => {
    expect(readableDiff([{ path: "$.items[0].price", kind: "type_changed", left: "4.99", right: '"4.99"' }])).toEqual(['type_changed $.items[0].price: 4.99 → "4.99"']);
  });
  it("says HTTP status for a status difference, not the kind and path twice", () => {
    expect(readableDiff([{ path: "status", kind: "status", left: "200", right: "500" }])).toEqual(["HTTP status: 200 → 500"]);
  });
  it("names a header without its internal prefix, and marks a side that lacks it", () => {
    expect(readableDiff([{ path: "header:etag", kind: "removed", left: '"a"' }])).toEqual(['removed header etag: "a" → (absent)']);
  });
  it("says when one side gave no answer", () => {
    expect(readableDiff([{ path: "$", kind: "error", left: "HTTP 200", right: "connect ECONNREFUSED" }])).toEqual(["no answer from one side: HTTP 200 → connect ECONNREFUSED"]);
  });
  it("a field with no values shown (extra/missing without excerpts) has no colon", () => {
    expect(readableDiff([{ path: "$.id", kind: "extra" }])).toEqual(["extra $.id"]);
  });
  it("anything but an array is no differences", () => {
    expect(readableDiff(null)).toEqual([]);
    expect(readableDiff({ path: "$" })).toEqual([]);
  });
});
