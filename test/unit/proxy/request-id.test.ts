import { describe, expect, it } from "vitest";
import { newRequestId, requestIdFor } from "../../../src/proxy/request-id.ts";

describe("request ids", () => {
  it("generates distinct ids of one process prefix and a counter, themselves acceptable as a client's", () => {
    const ids = Array.from({ length: 1000 }, () => newRequestId());
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}-[0-9a-z]+$/);
    expect(new Set(ids.map((id) => id.split("-")[0])).size).toBe(1);
    const id = ids[0] as string;
    expect(requestIdFor({ "x-request-id": id })).toBe(id);
  });

  it("keeps a client's safe id and replaces an unsafe or repeated one", () => {
    expect(requestIdFor({ "x-request-id": "abc-123:x@y.z_" })).toBe("abc-123:x@y.z_");
    for (const bad of ["", "has space", "x".repeat(129), "new\nline", "é"]) expect(requestIdFor({ "x-request-id": bad })).toMatch(/^[0-9a-f]{16}-/);
    expect(requestIdFor({})).toMatch(/^[0-9a-f]{16}-/);
  });
});
