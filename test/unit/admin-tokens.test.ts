import { describe, expect, it } from "vitest";
import { grantCoversRoute, grantFor } from "../../src/admin/access.ts";
import { endpointAccess } from "../../src/admin/endpoint-roles.ts";
import { tokenOf, AdminConfigError, adminTokensFromEnv, checkAdminExposure } from "../../src/admin/admin-tokens.ts";

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

  it("reads a role between label and token, and only a role's name as one", () => {
    const given = adminTokensFromEnv({ STRANGLER_ADMIN_TOKENS: "grafana:viewer:grafana-token-0123456789,ci:operator:ci-token-0123456789,odd:odd:token-with:colons-0123" });
    expect(given).toEqual([
      { label: "grafana", role: "viewer", token: "grafana-token-0123456789" },
      { label: "ci", role: "operator", token: "ci-token-0123456789" },
      { label: "odd", token: "odd:token-with:colons-0123" },
    ]);
    expect(() => adminTokensFromEnv({ STRANGLER_ADMIN_TOKENS: "ci:viewer:short" })).toThrow('admin token "ci": must be at least 16 characters');
  });

  it("settles a grant: the token's role, the config's, the lesser of both, else the default", () => {
    const access = { defaultRole: "admin" as const, grants: { grafana: { role: "operator" as const }, pay: { role: "operator" as const, routes: ["payments-*", "checkout"] } } };
    expect(grantFor("someone", undefined, access)).toEqual({ label: "someone", role: "admin", routes: null });
    expect(grantFor("someone", "viewer", access).role).toBe("viewer");
    expect(grantFor("grafana", undefined, access).role).toBe("operator");
    expect(grantFor("grafana", "viewer", access).role).toBe("viewer");
    expect(grantFor("grafana", "admin", access).role).toBe("operator");
    expect(grantFor("someone", undefined, { ...access, defaultRole: "viewer" }).role).toBe("viewer");
    const pay = grantFor("pay", undefined, access);
    expect(["payments-refunds", "payments-", "checkout"].map((id) => grantCoversRoute(pay, id))).toEqual([true, true, true]);
    expect(["checkout-v2", "xpayments-a", "payments"].map((id) => grantCoversRoute(pay, id))).toEqual([false, false, false]);
    expect(grantCoversRoute(grantFor("dots", undefined, { defaultRole: "admin", grants: { dots: { role: "admin", routes: ["a.b"] } } }), "axb")).toBe(false);
  });

  it("finds each call's role in the table, closed by default", () => {
    expect(endpointAccess("GET", "/api/routes/products-list/shadow")).toMatchObject({ access: { role: "viewer" }, params: { id: "products-list" } });
    expect(endpointAccess("PUT", "/api/routes/products-list/rollout")).toMatchObject({ access: { role: "operator", routeOf: "id" }, params: { id: "products-list" } });
    expect(endpointAccess("POST", "/api/routes/x/retire").access.role).toBe("admin");
    expect(endpointAccess("POST", "/api/divergences/7/examples/3/replay")).toMatchObject({ access: { routeOf: "signature" }, params: { signatureId: "7", exampleId: "3" } });
    expect(endpointAccess("HEAD", "/api/overview").access.role).toBe("viewer");
    expect(endpointAccess("POST", "/api/something/new").access.role).toBe("admin");
    expect(endpointAccess("GET", "/api/something/new").access.role).toBe("viewer");
  });

  it("maps a bearer token to its label, and anything else to nobody", () => {
    const actorOf = (header: string | undefined, list: typeof tokens) => tokenOf(header, list)?.label;
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
