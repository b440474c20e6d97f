import { beforeEach, describe, expect, it } from "vitest";
import type { StranglerConfigInput } from "../../../src/config/schema.ts";
import { validateConfig } from "../../../src/config/validate.ts";
import { buildRouteTable } from "../../../src/routing/route-table.ts";

type RouteInput = NonNullable<StranglerConfigInput["routes"]>[number];

function tableOf(routes: Array<Omit<RouteInput, "target" | "rollout"> & { target?: string }>) {
  const config = validateConfig(
    {
      backends: { legacy: { url: "http://127.0.0.1:1" }, svc: { url: "http://127.0.0.1:2" } },
      routes: routes.map((r) => ({ target: "svc", rollout: { percent: 100 }, ...r })),
    },
    "test",
  );
  return buildRouteTable(config.routes);
}

const match = (table: ReturnType<typeof tableOf>, method: string, path: string, headers: Record<string, string> = {}) =>
  table.match(method, path, headers)?.id;

describe("route table", () => {
  // Built before each test, not when the file is collected: a table built at collection would escape
  // Stryker's mutants (it activates them per test).
  let table: ReturnType<typeof tableOf>;
  const routes: Parameters<typeof tableOf>[0] = [
    { id: "orders-any", match: { path: "/api/orders/*" } },
    { id: "order-by-id", match: { methods: ["GET"], path: "/api/orders/:id" } },
    { id: "orders-export", match: { methods: ["GET"], path: "/api/orders/export" } },
    { id: "order-cancel", match: { methods: ["POST"], path: "/api/orders/:id/cancel" } },
    { id: "products", match: { methods: ["GET", "POST"], path: "/api/products" } },
    { id: "products-v2", match: { methods: ["GET"], path: "/api/products", headers: { "X-Api-Version": "2" } } },
    { id: "beta", match: { path: "/api/beta/*", headers: { "x-beta": true } } },
    { id: "root", match: { methods: ["GET"], path: "/" } },
  ];
  beforeEach(() => {
    table = tableOf(routes);
  });

  it("a literal segment beats a parameter, which beats a wildcard", () => {
    expect(match(table, "GET", "/api/orders/export")).toBe("orders-export");
    expect(match(table, "GET", "/api/orders/42")).toBe("order-by-id");
    expect(match(table, "DELETE", "/api/orders/42")).toBe("orders-any");
    expect(match(table, "GET", "/api/orders/42/items")).toBe("orders-any");
  });

  it("a trailing wildcard matches zero or more segments", () => {
    expect(match(table, "GET", "/api/orders")).toBe("orders-any");
    expect(match(table, "GET", "/api/orders/")).toBe("orders-any");
    expect(match(table, "GET", "/api/orders/a/b/c")).toBe("orders-any");
  });

  it("methods filter, and the next most specific route is tried", () => {
    expect(match(table, "POST", "/api/orders/42/cancel")).toBe("order-cancel");
    expect(match(table, "GET", "/api/orders/42/cancel")).toBe("orders-any");
    expect(match(table, "DELETE", "/api/products")).toBeUndefined();
    expect(match(table, "POST", "/api/products")).toBe("products");
  });

  it("a route claiming GET also claims HEAD", () => {
    expect(match(table, "HEAD", "/api/products")).toBe("products");
  });

  it("header conditions: a route with them is tried first on the same template; names are case-insensitive", () => {
    expect(match(table, "GET", "/api/products", { "x-api-version": "2" })).toBe("products-v2");
    expect(match(table, "GET", "/api/products", { "x-api-version": "1" })).toBe("products");
    expect(match(table, "POST", "/api/products", { "x-api-version": "2" })).toBe("products");
    expect(match(table, "GET", "/api/beta/x", { "x-beta": "anything" })).toBe("beta");
    expect(match(table, "GET", "/api/beta/x")).toBeUndefined();
  });

  it("a parameter never matches an empty segment; paths are matched exactly otherwise", () => {
    expect(match(table, "GET", "/api/orders//cancel")).toBe("orders-any");
    expect(match(table, "GET", "/api/products/")).toBeUndefined();
    expect(match(table, "GET", "/api/Products")).toBeUndefined();
    expect(match(table, "GET", "/")).toBe("root");
    expect(match(table, "GET", "/other")).toBeUndefined();
  });

  it("ties between identical templates go to the earlier route", () => {
    const tied = tableOf([
      { id: "first", match: { path: "/x/:a" } },
      { id: "second", match: { path: "/x/:b" } },
    ]);
    expect(match(tied, "GET", "/x/1")).toBe("first");
  });

  it("precedence does not depend on the order routes are declared in", () => {
    const reversed = tableOf([
      { id: "order-by-id", match: { methods: ["GET"], path: "/api/orders/:id" } },
      { id: "orders-export", match: { methods: ["GET"], path: "/api/orders/export" } },
      { id: "orders-any", match: { path: "/api/orders/*" } },
    ]);
    expect(match(reversed, "GET", "/api/orders/export")).toBe("orders-export");
    expect(match(reversed, "GET", "/api/orders/7")).toBe("order-by-id");
  });

  it("a catch-all /* claims whatever nothing more specific claims", () => {
    const all = tableOf([
      { id: "all", match: { path: "/*" } },
      { id: "p", match: { path: "/api/p" } },
    ]);
    expect(match(all, "GET", "/api/p")).toBe("p");
    expect(match(all, "GET", "/")).toBe("all");
    expect(match(all, "GET", "/a/b")).toBe("all");
  });

  it("header-conditioned routes come first below a parameter and a wildcard too, whatever the declaration order", () => {
    const conditioned = tableOf([
      { id: "plain", match: { path: "/o/:id" } },
      { id: "v2", match: { path: "/o/:id", headers: { "x-v": "2" } } },
      { id: "rest", match: { path: "/w/*" } },
      { id: "rest-v2", match: { path: "/w/*", headers: { "x-v": "2" } } },
      { id: "deep-plain", match: { path: "/d/:a/:b" } },
      { id: "deep-v2", match: { path: "/d/:a/:b", headers: { "x-v": "2" } } },
    ]);
    expect(match(conditioned, "GET", "/o/1", { "x-v": "2" })).toBe("v2");
    expect(match(conditioned, "GET", "/o/1")).toBe("plain");
    expect(match(conditioned, "GET", "/w/a/b", { "x-v": "2" })).toBe("rest-v2");
    expect(match(conditioned, "GET", "/w/a/b")).toBe("rest");
    expect(match(conditioned, "GET", "/d/1/2", { "x-v": "2" })).toBe("deep-v2");
  });

  it("a header condition with a value needs that exact value; true needs the header present", () => {
    const conditioned = tableOf([{ id: "c", match: { path: "/c", headers: { "X-Tenant": "acme", "x-beta": true } } }]);
    expect(match(conditioned, "GET", "/c", { "x-tenant": "acme", "x-beta": "" })).toBe("c");
    expect(match(conditioned, "GET", "/c", { "x-tenant": "acme" })).toBeUndefined();
    expect(match(conditioned, "GET", "/c", { "x-tenant": "other", "x-beta": "1" })).toBeUndefined();
  });

  it("a literal that matches the path but not the method falls back to the parameter beside it", () => {
    const fallback = tableOf([
      { id: "export", match: { methods: ["GET"], path: "/o/export" } },
      { id: "any-id", match: { path: "/o/:id" } },
      { id: "nested", match: { methods: ["POST"], path: "/o/export/run" } },
      { id: "param-run", match: { path: "/o/:id/run" } },
    ]);
    expect(match(fallback, "POST", "/o/export")).toBe("any-id");
    expect(match(fallback, "GET", "/o/export/run")).toBe("param-run");
    expect(match(fallback, "GET", "/o/1", {})).toBe("any-id");
  });

  it("a route claiming methods other than GET does not claim HEAD", () => {
    const posts = tableOf([{ id: "post", match: { methods: ["POST"], path: "/p" } }]);
    expect(match(posts, "HEAD", "/p")).toBeUndefined();
    expect(match(posts, "POST", "/p")).toBe("post");
  });
});
