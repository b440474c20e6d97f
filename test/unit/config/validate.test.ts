import { describe, expect, it } from "vitest";
import { validateConfig } from "../../../src/config/validate.ts";
import { issuesOf } from "../../helpers/config-issues.ts";

const backends = { legacy: { url: "http://127.0.0.1:3001" }, catalog: { url: "http://127.0.0.1:3002" } };
const route = (over: Record<string, unknown> = {}) => ({
  id: "products-list",
  match: { methods: ["GET"], path: "/api/products" },
  target: "catalog",
  rollout: { percent: 10 },
  ...over,
});


describe("validateConfig", () => {
  it("fills in defaults", () => {
    const config = validateConfig({ backends, routes: [route({ match: { path: "/x" } })] }, "t");
    expect(config.servedByHeader).toBe("x-served-by");
    expect(config.backends.legacy?.connectTimeoutMs).toBe(2000);
    expect(config.routes[0]?.legacy).toBe("legacy");
    expect(config.routes[0]?.match.methods).toBe("*");
  });

  it("accepts fractional percentages down to 0.01", () => {
    expect(validateConfig({ backends, routes: [route({ rollout: { percent: 0.5 } })] }, "t").routes[0]?.rollout.percent).toBe(0.5);
    expect(issuesOf({ backends, routes: [route({ rollout: { percent: 0.005 } })] })).toEqual([
      'routes[0] (id "products-list").rollout.percent: resolution is 0.01, got 0.005',
    ]);
  });

  it.each([
    [{ rollout: { percent: 140 } }, 'routes[3] (id "products-list").rollout.percent: must be between 0 and 100, got 140'],
    [{ rollout: { percent: -1 } }, 'routes[3] (id "products-list").rollout.percent: must be between 0 and 100, got -1'],
    [{ rollout: { percent: "50" } }, 'routes[3] (id "products-list").rollout.percent: must be a number between 0 and 100, got "50"'],
    [{ rollout: {} }, 'routes[3] (id "products-list").rollout.percent: is required'],
    [{ target: "billing" }, 'routes[3] (id "products-list").target: unknown backend "billing"; declared backends: legacy, catalog'],
    [{ legacy: "old" }, 'routes[3] (id "products-list").legacy: unknown backend "old"; declared backends: legacy, catalog'],
    [{ id: "Bad Id" }, "routes[3] (id \"Bad Id\").id: must be 1-80 lower-case letters, digits, '.', '-' or '_'"],
    [{ match: { path: "api/products" } }, 'routes[3] (id "products-list").match.path: must start with "/", got "api/products"'],
    [{ match: { path: "/api/*/x" } }, 'routes[3] (id "products-list").match.path: "*" is only allowed as the last segment, in "/api/*/x"'],
    [{ match: { path: "/api/:id/:id" } }, 'routes[3] (id "products-list").match.path: parameter :id appears twice in "/api/:id/:id"'],
    [{ match: { path: "/api/caf%C3%A9" } }, `routes[3] (id "products-list").match.path: segment "caf%C3%A9" holds characters a normalised path cannot (write it decoded; no "%", "?", "#" or spaces)`],
    [{ match: { path: "/x", methods: ["FETCH"] } }, 'routes[3] (id "products-list").match.methods[0]: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, got "FETCH"'],
    [{ match: { path: "/x", verbs: ["GET"] } }, 'routes[3] (id "products-list").match: unknown field(s) "verbs"'],
  ])("a route with %j is refused precisely", (over, message) => {
    const routes = [route({ id: "a" }), route({ id: "b" }), route({ id: "c" }), route(over)];
    expect(issuesOf({ backends, routes })).toEqual([message]);
  });

  it("duplicate route ids name both places", () => {
    expect(issuesOf({ backends, routes: [route(), route()] })).toEqual([
      'routes[1] (id "products-list").id: duplicate route id "products-list" (also routes[0])',
    ]);
  });

  it("the legacy backend is required", () => {
    expect(issuesOf({ backends: { catalog: backends.catalog }, routes: [] })).toEqual([
      "backends.legacy: is required: it serves every request no route claims",
    ]);
  });

  it("backend fields are checked", () => {
    expect(issuesOf({ backends: { ...backends, catalog: { url: "ftp://x" } } })).toEqual(['backends.catalog.url: must be an http:// or https:// URL']);
    expect(issuesOf({ backends: { ...backends, catalog: { url: "http://x", connectTimeoutMs: 0 } } })[0]).toMatch(/^backends\.catalog\.connectTimeoutMs: /);
    expect(issuesOf({ backends: { ...backends, Catalog: { url: "http://x" } } })[0]).toMatch(/^backends\.Catalog: must be lower-case/);
  });

  it("reports every problem at once", () => {
    expect(issuesOf({ backends, routes: [route({ rollout: { percent: 101 } }), route({ id: "b", target: "nope" })] })).toHaveLength(2);
  });

  it("a config that is not an object says so", () => {
    expect(issuesOf(undefined)[0]).toMatch(/^\(root\): /);
  });
});
