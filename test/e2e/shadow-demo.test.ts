import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { adminJson } from "../helpers/admin.ts";
import { until } from "../helpers/wait.ts";
import { startDemoBackends, type DemoBackends } from "../helpers/demo.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

interface ShadowReport {
  compared: number;
  counts: { match: number; diverge: number; error: number; skipped: number };
  matchRate: number | null;
  topDivergences: Array<{ path: string; kind: string; count: number }>;
  noise: { samples: number; fields: Array<{ path: string; isNoise: boolean }> };
}

describe("shadow comparison over the demo finds each deliberate difference, and nothing else", () => {
  const temp = makeTempDir();
  let demo: DemoBackends;
  let proxy: Strangler;
  // As the shipped routes.config.ts: timestamps within 5 s are equal; generated ids are left to noise learning.
  const shadow = { percent: 100, compare: { timestampToleranceMs: 5_000 } };

  beforeAll(async () => {
    demo = await startDemoBackends();
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: demo.backends,
        routes: [
          { id: "products-list", match: { methods: ["GET"], path: "/api/products" }, target: "catalog", rollout: { percent: 0 }, shadow },
          { id: "product-detail", match: { methods: ["GET"], path: "/api/products/:id" }, target: "catalog", rollout: { percent: 0 }, shadow },
          { id: "inventory-read", match: { methods: ["GET"], path: "/api/inventory/:productId" }, target: "catalog", rollout: { percent: 100 }, shadow },
          { id: "orders-list", match: { methods: ["GET"], path: "/api/orders" }, target: "orders", rollout: { percent: 0 }, shadow },
          { id: "order-detail", match: { methods: ["GET"], path: "/api/orders/:id" }, target: "orders", rollout: { percent: 0 }, shadow },
        ],
      }),
    );
    const get = async (path: string) => {
      const res = await fetch(`${proxy.url}${path}`);
      expect(res.status, path).toBe(200);
      await res.arrayBuffer();
    };
    for (let i = 0; i < 6; i++) {
      await get(`/api/products?page=${1 + (i % 3)}`);
      await get(`/api/products/p_00${1 + i}`); // p_001 and p_006 are books
      await get(`/api/inventory/p_00${1 + i}`);
      await get(`/api/orders?page=${1 + (i % 2)}`);
      await get(`/api/orders/ord_seed_00${1 + i}`);
    }
  });
  afterAll(async () => {
    await proxy.close();
    await demo.close();
    temp.remove();
  });

  const report = (route: string) =>
    until(
      () => adminJson<ShadowReport>(proxy.adminUrl, `/api/routes/${route}/shadow`),
      (r) => r.compared + r.counts.skipped >= 6,
    );

  it("catalog: book prices serialised as strings, in the list and the detail", async () => {
    const list = await report("products-list");
    expect(list.topDivergences.map((d) => `${d.kind} ${d.path}`)).toEqual(["type_changed $.items[*].price"]);
    expect(list.counts.diverge).toBe(6);
    const detail = await report("product-detail");
    expect(detail.topDivergences.map((d) => `${d.kind} ${d.path}`)).toEqual(["type_changed $.price"]);
    expect(detail.topDivergences[0]?.count).toBe(2); // p_001 and p_006
    expect(detail.counts.match).toBe(4);
  });

  it("orders: orders placed at the same instant come in another order", async () => {
    const list = await report("orders-list");
    expect(list.topDivergences.map((d) => `${d.kind} ${d.path}`)).toEqual(["order $.items"]);
    const detail = await report("order-detail");
    expect(detail.topDivergences).toEqual([]);
    expect(detail.matchRate).toBe(1);
  });

  it("reverse shadowing: a route fully on the service compares against the monolith, and matches", async () => {
    const inventory = await report("inventory-read");
    expect(inventory.topDivergences).toEqual([]);
    expect(inventory.matchRate).toBe(1);
  });

  it("the generated request id is learned as noise, reported apart, and never as a divergence", async () => {
    const list = await report("products-list");
    expect(list.noise.samples).toBeGreaterThanOrEqual(6);
    expect(list.noise.fields).toEqual(expect.arrayContaining([expect.objectContaining({ path: "$.requestId", isNoise: true })]));
    const { signatures } = await adminJson<{ signatures: Array<{ path: string; examples: Array<{ diff: string[]; legacyBody: string; targetBody: string }> }> }>(
      proxy.adminUrl,
      "/api/routes/products-list/divergences",
    );
    expect(signatures.map((s) => s.path)).toEqual(["$.items[*].price"]);
    const example = signatures[0]?.examples[0];
    expect(example?.diff[0]).toMatch(/^type_changed \$\.items\[\d+\]\.price: \d+\.\d+ → "\d+\.\d\d"$/);
    expect(JSON.parse(example?.legacyBody ?? "{}")).toMatchObject({ items: expect.any(Array) });
  });

  it("shows both backends' latency for the same requests and the outcomes in /metrics", async () => {
    await report("products-list");
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/strangler_shadow_comparisons_total\{route="products-list",outcome="diverge"\} 6/);
    expect(metrics).toMatch(/strangler_shadow_backend_latency_seconds_count\{route="products-list",backend="legacy"\} 6/);
    expect(metrics).toMatch(/strangler_shadow_backend_latency_seconds_count\{route="products-list",backend="catalog"\} 6/);
    expect(metrics).toMatch(/strangler_shadow_noise_total\{route="products-list"\} \d+/);
  });
});
