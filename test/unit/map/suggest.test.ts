import { describe, expect, it } from "vitest";
import { configSchema } from "../../../src/config/schema.ts";
import type { MigrationMap, TemplateView } from "../../../src/map/map-view.ts";
import { prefixOf, routeIdFor, suggestCuts } from "../../../src/map/suggest.ts";
import { buildRouteTable } from "../../../src/routing/route-table.ts";

const row = (method: string, template: string, requests: number, route: string | null = null): TemplateView => ({
  method,
  template,
  requests,
  share: 0,
  servedByServices: 0,
  status: { "1xx": 0, "2xx": requests, "3xx": 0, "4xx": 0, "5xx": 0, cut: 0 },
  p50Ms: null,
  p99Ms: null,
  bytes: 0,
  firstSeen: null,
  lastSeen: null,
  lastMonolithAt: null,
  route,
  targetTemplate: null,
});
const mapOf = (rows: TemplateView[]): MigrationMap => ({
  windowMs: 3_600_000,
  requests: rows.reduce((sum, r) => sum + r.requests, 0),
  servedByServices: 0,
  templates: { total: rows.length, claimed: 0, unclaimed: rows.length },
  overflow: 0,
  hours: [],
  rows,
  routes: [],
});

describe("where to cut next", () => {
  it("groups a template by its first two segments under api or a version, else by its first", () => {
    expect(prefixOf("/api/users/:id")).toBe("/api/users");
    expect(prefixOf("/v2/orders/:id/cancel")).toBe("/v2/orders");
    expect(prefixOf("/api/:id")).toBe("/api");
    expect(prefixOf("/healthz")).toBe("/healthz");
    expect(prefixOf("/shop/items/:id")).toBe("/shop");
    expect(prefixOf("/:id/x")).toBe("/");
    expect(prefixOf("/")).toBe("/");
    expect(prefixOf("/api/*")).toBe("/api");
  });

  it("names a route after its template, writes with their method", () => {
    expect(routeIdFor("GET", "/api/users/:id")).toBe("users-by-id");
    expect(routeIdFor("HEAD", "/api/users")).toBe("users");
    expect(routeIdFor("POST", "/api/cart/:id/items")).toBe("cart-by-id-items-post");
    expect(routeIdFor("DELETE", "/v1/cart/:id/items/:id2")).toBe("cart-by-id-items-by-id-delete");
    expect(routeIdFor("GET", "/files/*")).toBe("files-rest");
    expect(routeIdFor("GET", "/")).toBe("root");
    expect(routeIdFor("GET", "/Legacy_Export.csv")).toBe("legacy-export-csv");
  });

  it("suggests the busiest unclaimed groups first, reads together and shadowed, writes apart, ids unique", () => {
    const map = mapOf([
      row("GET", "/api/users/:id", 50),
      row("HEAD", "/api/users/:id", 5),
      row("POST", "/api/users", 10),
      row("GET", "/api/users", 20),
      row("GET", "/api/cart/:id", 100),
      row("GET", "/api/products/:id", 500, "product-detail"),
      row("GET", "(overflow)", 1_000),
      row("GET", "/healthz", 1),
    ]);
    const cuts = suggestCuts(map, [{ id: "users" } as never], ["legacy", "cart"], 2);
    expect(cuts.map((c) => [c.prefix, c.requests])).toEqual([
      ["/api/cart", 100],
      ["/api/users", 85],
    ]);
    const [cart, users] = cuts as [(typeof cuts)[0], (typeof cuts)[0]];
    expect(cart.backend).toEqual({ name: "cart", url: "http://cart.internal:8080", declared: true });
    expect(cart.snippet).toContain("// backends: cart is declared already");
    expect(users.backend).toEqual({ name: "users", url: "http://users.internal:8080", declared: false });
    expect(users.share).toBeCloseTo(85 / 1_686, 6);
    expect(users.routes).toEqual([
      { id: "users-2", match: { methods: ["GET"], path: "/api/users" }, target: "users", rollout: { percent: 0 }, shadow: { percent: 100 } },
      { id: "users-post", match: { methods: ["POST"], path: "/api/users" }, target: "users", rollout: { percent: 0 } },
      { id: "users-by-id", match: { methods: ["GET", "HEAD"], path: "/api/users/:id" }, target: "users", rollout: { percent: 0 }, shadow: { percent: 100 } },
    ]);
    expect(users.templates).toEqual([
      { method: "GET", template: "/api/users/:id", requests: 50 },
      { method: "HEAD", template: "/api/users/:id", requests: 5 },
      { method: "POST", template: "/api/users", requests: 10 },
      { method: "GET", template: "/api/users", requests: 20 },
    ]);
    expect(users.snippet.split("\n")).toEqual([
      "// /api/users: 85 requests (5.0% of all), 4 endpoints the monolith alone serves",
      "// backends: the service that takes it over",
      'users: { url: process.env.USERS_URL ?? "http://users.internal:8080" },',
      "// routes: at 0% until the service is ready; reads shadowed to compare it with the monolith",
      '{ id: "users-2", match: { methods: ["GET"], path: "/api/users" }, target: "users", rollout: { percent: 0 }, shadow: { percent: 100 } },',
      '{ id: "users-post", match: { methods: ["POST"], path: "/api/users" }, target: "users", rollout: { percent: 0 } },',
      '{ id: "users-by-id", match: { methods: ["GET", "HEAD"], path: "/api/users/:id" }, target: "users", rollout: { percent: 0 }, shadow: { percent: 100 } },',
    ]);
    // The suggested routes are a valid config that claims each template.
    const config = configSchema.parse({ backends: { legacy: { url: "http://127.0.0.1:1" }, users: { url: users.backend.url } }, routes: users.routes });
    const table = buildRouteTable(config.routes);
    expect(table.match("POST", "/api/users", {})?.id).toBe("users-post");
    expect(table.match("HEAD", "/api/users/1", {})?.id).toBe("users-by-id");
  });

  it("says so when nothing is left to cut, and counts one endpoint in the singular", () => {
    expect(suggestCuts(mapOf([row("GET", "/x", 3, "x")]), [], [])).toEqual([]);
    const [only] = suggestCuts(mapOf([row("GET", "/9lives", 3)]), [], []);
    expect(only?.backend.name).toBe("s9lives");
    expect(only?.snippet).toMatch(/^\/\/ \/9lives: 3 requests \(100\.0% of all\), 1 endpoint the monolith alone serves$/m);
    expect(suggestCuts(mapOf([]), [], [])).toEqual([]);
  });
});
