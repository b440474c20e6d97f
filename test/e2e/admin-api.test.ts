import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startDemoBackends, type DemoBackends } from "../helpers/demo.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const TOKEN = "alice-token-0123456789";
const CI_TOKEN = "ci-token-abcdefghijkl";

describe("admin API", () => {
  const temp = makeTempDir();
  let demo: DemoBackends;
  let proxy: Strangler;

  beforeAll(async () => {
    demo = await startDemoBackends();
    const config = writeConfig(temp.dir, {
      backends: demo.backends,
      routes: [
        { id: "products-list", match: { methods: ["GET"], path: "/api/products" }, target: "catalog", rollout: { percent: 0 } },
        { id: "orders-list", match: { methods: ["GET"], path: "/api/orders" }, target: "orders", rollout: { percent: 10 } },
      ],
    });
    proxy = await startTestProxy(config, { adminTokens: [{ label: "alice", token: TOKEN }, { label: "ci", token: CI_TOKEN }] });
  });
  afterAll(async () => {
    await proxy.close();
    await demo.close();
    temp.remove();
  });

  function admin(path: string, init: RequestInit & { token?: string | null; json?: unknown } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
    const token = init.token === undefined ? TOKEN : init.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (init.json !== undefined) headers["content-type"] = "application/json";
    return fetch(`${proxy.adminUrl}${path}`, { ...init, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body });
  }

  async function errorOf(res: Response): Promise<{ code: string; message: string; field?: string }> {
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    return ((await res.json()) as { error: { code: string; message: string; field?: string } }).error;
  }

  it("refuses requests without a token, or with a wrong one, with 401 and a JSON body", async () => {
    const none = await admin("/api/routes", { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await errorOf(none)).toMatchObject({ code: "unauthorized" });
    const wrong = await admin("/api/routes", { token: "not-the-token-at-all" });
    expect(wrong.status).toBe(401);
    expect(await errorOf(wrong)).toMatchObject({ code: "unauthorized", message: "the bearer token is not valid" });
    const basic = await admin("/api/routes", { token: null, headers: { authorization: `Basic ${TOKEN}` } });
    expect(basic.status).toBe(401);
    expect((await admin("/api/routes")).status).toBe(200);
  });

  it("lists routes with match, backends, configured and live percentage and last change", async () => {
    const body = (await (await admin("/api/routes")).json()) as { routes: Array<Record<string, unknown>> };
    expect(body.routes.map((r) => r.id)).toEqual(["products-list", "orders-list"]);
    expect(body.routes[1]).toMatchObject({
      match: { methods: ["GET"], path: "/api/orders" },
      legacy: "legacy",
      target: "orders",
      rollout: { configuredPercent: 10, livePercent: 10, source: "config", key: { header: "x-user-id" } },
      lastChange: { by: "routes.config.ts", source: "config" },
    });
    const one = await admin("/api/routes/orders-list");
    expect(await one.json()).toMatchObject({ id: "orders-list" });
  });

  it.each([
    ["percent -1", { percent: -1, reason: "x" }, "percent", "percent: must be between 0 and 100, got -1"],
    ["percent 101", { percent: 101, reason: "x" }, "percent", "percent: must be between 0 and 100, got 101"],
    ['percent "abc"', { percent: "abc", reason: "x" }, "percent", 'percent: must be a number between 0 and 100, got "abc"'],
    ["no reason", { percent: 5 }, "reason", "reason: is required: say why"],
    ["an empty reason", { percent: 5, reason: "  " }, "reason", "reason: is required: say why"],
    ["an unknown field", { percent: 5, reason: "x", percentage: 5 }, "", 'unknown field(s) "percentage"'],
  ])("answers 400 naming the field for %s", async (_name, json, field, message) => {
    const res = await admin("/api/routes/products-list/rollout", { method: "PUT", json });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error).toMatchObject({ code: "invalid_input", field });
    expect(error.message).toContain(message);
  });

  it("answers 415 for a change without a JSON content type, 400 for a missing or non-JSON body, 404 for an unknown route, 413 for an oversized body", async () => {
    const untyped = await admin("/api/routes/products-list/rollout", { method: "PUT" });
    expect(untyped.status).toBe(415);
    expect(await errorOf(untyped)).toMatchObject({ code: "unsupported_media_type" });
    const missing = await admin("/api/routes/products-list/rollout", { method: "PUT", headers: { "content-type": "application/json" } });
    expect(missing.status).toBe(400);
    expect(await errorOf(missing)).toMatchObject({ code: "invalid_json" });
    const garbage = await admin("/api/routes/products-list/rollout", { method: "PUT", body: "{percent:", headers: { "content-type": "application/json" } });
    expect(garbage.status).toBe(400);
    const unknown = await admin("/api/routes/nope/rollout", { method: "PUT", json: { percent: 5, reason: "x" } });
    expect(unknown.status).toBe(404);
    expect(await errorOf(unknown)).toMatchObject({ code: "route_not_found" });
    const huge = await admin("/api/routes/products-list/rollout", { method: "PUT", json: { percent: 5, reason: "x".repeat(40_000) } });
    expect(huge.status).toBe(413);
    expect(await errorOf(huge)).toMatchObject({ code: "body_too_large" });
    const noEndpoint = await admin("/api/nothing");
    expect(noEndpoint.status).toBe(404);
    expect(await errorOf(noEndpoint)).toMatchObject({ code: "not_found" });
  });

  it("a percentage set through the API moves traffic at once, and a rollback sends it all back", async () => {
    const served = async () => {
      const sides = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${proxy.url}/api/products?pageSize=1`, { headers: { "x-user-id": `u${i}` } });
        sides.add(res.headers.get("x-served-by") ?? "");
        await res.arrayBuffer();
      }
      return sides;
    };
    expect(await served()).toEqual(new Set(["legacy"]));
    const put = await admin("/api/routes/products-list/rollout", { method: "PUT", json: { percent: 100, reason: "catalog is ready" } });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ previousPercent: 0, route: { rollout: { configuredPercent: 0, livePercent: 100, source: "admin" }, lastChange: { by: "alice", reason: "catalog is ready" } } });
    expect(await served()).toEqual(new Set(["catalog"]));
    const rollback = await admin("/api/routes/products-list/rollback", { method: "POST", json: { reason: "errors in catalog" }, token: CI_TOKEN });
    expect(rollback.status).toBe(200);
    expect(await rollback.json()).toMatchObject({ previousPercent: 100, route: { rollout: { livePercent: 0 }, lastChange: { by: "ci" } } });
    expect(await served()).toEqual(new Set(["legacy"]));
  });

  it("audits every change: who, when, old, new, why; paged newest first", async () => {
    await admin("/api/routes/orders-list/rollout", { method: "PUT", json: { percent: 20, reason: "step 2" } });
    await admin("/api/routes/orders-list/rollout", { method: "PUT", json: { percent: 30, reason: "step 3" } });
    const first = (await (await admin("/api/audit?route=orders-list&limit=2")).json()) as { entries: Array<Record<string, unknown>>; nextBefore: number | null };
    expect(first.entries).toMatchObject([
      { actor: "alice", action: "set_percent", routeId: "orders-list", oldValue: { percent: 20 }, newValue: { percent: 30 }, reason: "step 3", source: "admin", at: expect.any(String) },
      { actor: "alice", action: "set_percent", oldValue: { percent: 10 }, newValue: { percent: 20 }, reason: "step 2" },
    ]);
    expect(first.nextBefore).toEqual(expect.any(Number));
    const second = (await (await admin(`/api/audit?route=orders-list&limit=2&before=${first.nextBefore}`)).json()) as { entries: Array<Record<string, unknown>> };
    expect(second.entries).toMatchObject([{ action: "route_added", source: "config", actor: "routes.config.ts" }]);
    const bad = await admin("/api/audit?limit=0");
    expect(bad.status).toBe(400);
    expect(await errorOf(bad)).toMatchObject({ code: "invalid_query" });
  });

  it("200 concurrent updates leave a consistent state and 200 audit rows", async () => {
    const before = ((await (await admin("/api/audit?route=orders-list&limit=500")).json()) as { entries: unknown[] }).entries.length;
    const percents = Array.from({ length: 200 }, (_, i) => (i % 100) + 0.5);
    const answers = await Promise.all(
      percents.map((percent, i) => admin("/api/routes/orders-list/rollout", { method: "PUT", json: { percent, reason: `update ${i}` } })),
    );
    expect(answers.every((r) => r.status === 200)).toBe(true);
    const entries = ((await (await admin("/api/audit?route=orders-list&limit=500")).json()) as { entries: Array<{ oldValue: { percent: number }; newValue: { percent: number } }> }).entries;
    expect(entries.length - before).toBe(200);
    // The log is a chain: each change starts from the value the previous one left.
    const newest = entries.slice(0, 200).reverse();
    for (let i = 1; i < newest.length; i++) expect(newest[i]?.oldValue.percent).toBe(newest[i - 1]?.newValue.percent);
    const live = ((await (await admin("/api/routes/orders-list")).json()) as { rollout: { livePercent: number } }).rollout.livePercent;
    expect(live).toBe(newest.at(-1)?.newValue.percent);
  });

  it("serves /healthz, /readyz, /metrics and an OpenAPI document without a token", async () => {
    expect((await admin("/healthz", { token: null })).status).toBe(200);
    expect(await (await admin("/readyz", { token: null })).json()).toEqual({ status: "ready" });
    const doc = (await (await admin("/openapi.json", { token: null })).json()) as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/routes", "/api/routes/{id}", "/api/routes/{id}/rollout", "/api/routes/{id}/rollback", "/api/audit"]));
    expect(doc.components.schemas.RolloutUpdate?.properties).toMatchObject({ percent: { type: "number" }, reason: { type: "string" } });
  });
});
