import { describe, expect, it } from "vitest";
import { actorOf, AdminConfigError, adminTokensFromEnv, checkAdminExposure } from "../../src/admin/admin-tokens.ts";

describe("admin tokens", () => {
  const tokens = adminTokensFromEnv({ STRANGLER_ADMIN_TOKENS: "alice:alice-token-0123456789, ci:ci-token-0123456789abc" });

  it("reads labelled tokens and a single token", () => {
    expect(tokens.map((t) => t.label)).toEqual(["alice", "ci"]);
    expect(adminTokensFromEnv({ STRANGLER_ADMIN_TOKEN: "a-long-enough-token!" })).toEqual([{ label: "admin", token: "a-long-enough-token!" }]);
    expect(adminTokensFromEnv({})).toEqual([]);
  });

  it("refuses short tokens and entries without a label", () => {
    expect(() => adminTokensFromEnv({ STRANGLER_ADMIN_TOKEN: "short" })).toThrow('admin token "admin": must be at least 16 characters');
    expect(() => adminTokensFromEnv({ STRANGLER_ADMIN_TOKENS: "no-label-token-0123456789" })).toThrow(AdminConfigError);
  });

  it("maps a bearer token to its label, and anything else to nobody", () => {
    expect(actorOf("Bearer ci-token-0123456789abc", tokens)).toBe("ci");
    expect(actorOf("bearer alice-token-0123456789", tokens)).toBe("alice");
    expect(actorOf("Bearer alice-token-012345678", tokens)).toBeUndefined();
    expect(actorOf("Basic alice-token-0123456789", tokens)).toBeUndefined();
    expect(actorOf(undefined, tokens)).toBeUndefined();
  });

  it("refuses an admin listener off loopback without a token", () => {
    expect(() => checkAdminExposure("0.0.0.0", [])).toThrow(/without a token/);
    expect(() => checkAdminExposure("0.0.0.0", tokens)).not.toThrow();
    expect(() => checkAdminExposure("127.0.0.1", [])).not.toThrow();
    expect(() => checkAdminExposure("::1", [])).not.toThrow();
  });
});
