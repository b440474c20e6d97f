import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/guard/clock.ts";
import type { Strangler } from "../../src/strangler.ts";
import { adminJson } from "../helpers/admin.ts";
import { until } from "../helpers/wait.ts";
import { startDemoBackends, startShippedProxy, type DemoBackends } from "../helpers/demo.ts";

/** The shipped routes.config.ts against the demo, as the README's guardrail commands use it. */
describe("the demo's guardrails, with the shipped routes.config.ts", () => {
  let demo: DemoBackends;
  let shipped: Awaited<ReturnType<typeof startShippedProxy>>;
  let proxy: Strangler;
  const clock = new ManualClock();

  beforeAll(async () => {
    demo = await startDemoBackends();
    shipped = await startShippedProxy(demo, clock);
    proxy = shipped.proxy;
  });
  afterAll(async () => {
    await shipped?.close();
    await demo.close();
  });

  async function reads(path: (i: number) => string, n: number): Promise<string[]> {
    const served: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${proxy.url}${path(i)}`, { headers: { "x-user-id": `user-${i}` } });
      expect(res.status).toBe(200);
      served.push(res.headers.get("x-served-by") ?? "");
      await res.arrayBuffer();
    }
    await until(async () => proxy.shadows.inFlight, (x) => x === 0);
    return served;
  }

  it("product-detail goes to the catalog's own path, /products/:id, and its shadow copy to the monolith keeps /api/products/:id", async () => {
    const served = await reads((i) => `/api/products/p_${String(1 + i).padStart(3, "0")}`, 20);
    expect(new Set(served)).toEqual(new Set(["catalog"]));
    // The books' prices differ (the catalog's deliberate difference): their examples show both paths.
    const { signatures } = await adminJson<{ signatures: Array<{ path: string; examples: Array<{ path: string; targetPath?: string }> }> }>(proxy.adminUrl, "/api/routes/product-detail/divergences");
    const example = signatures.find((s) => s.path === "$.price")?.examples[0];
    expect(example?.path).toMatch(/^\/api\/products\/p_\d{3}$/);
    expect(example?.targetPath).toBe(example?.path.replace("/api/products/", "/products/"));
  });

  it("a failing catalog: users keep getting answers (fallback), and the guard rolls product-detail back by itself", async () => {
    const failing = await fetch(`${demo.catalog.url}/__demo/failure`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ status: 500 }) });
    expect(await failing.json()).toEqual({ failing: true, status: 500 });
    const served = await reads((i) => `/api/products/p_${String(1 + (i % 60)).padStart(3, "0")}`, 15);
    expect(new Set(served)).toEqual(new Set(["legacy"])); // every answer came from the monolith
    await proxy.migrations.tick();
    expect(proxy.rollouts.state.get("product-detail")?.percent).toBe(0);
    expect(proxy.migrations.get("product-detail")?.state).toBe("halted");
  });

  it("order-detail runs from 0% to 100% by evidence", async () => {
    await adminJson(proxy.adminUrl, "/api/routes/order-detail/promotion/start", { method: "POST", json: { reason: "the README's promotion command" } });
    const seen = [proxy.rollouts.state.get("order-detail")?.percent];
    for (let step = 0; step < 5; step++) {
      await reads((i) => `/api/orders/ord_seed_${String(1 + (i % 40)).padStart(3, "0")}`, 25);
      clock.advance(10_000);
      await proxy.migrations.tick();
      seen.push(proxy.rollouts.state.get("order-detail")?.percent);
    }
    expect(seen).toEqual([1, 5, 25, 50, 100, 100]);
    expect(proxy.migrations.get("order-detail")).toMatchObject({ state: "migrated", promotion: "done" });
  });
});
