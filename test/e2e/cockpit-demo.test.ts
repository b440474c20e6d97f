import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/guard/clock.ts";
import type { Strangler } from "../../src/strangler.ts";
import { adminJson } from "../helpers/admin.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { startDemoBackends, startShippedProxy, type DemoBackends } from "../helpers/demo.ts";
import { until } from "../helpers/wait.ts";

const ARTIFACTS = join(process.cwd(), "test-artifacts");

/**
 * The demo's own story on the route page, in headless Chromium: the shipped routes.config.ts over the
 * demo monolith and services, order-detail promoted by evidence through its first steps, then the
 * orders service fails and the guard halts the route. The timeline must show the steps taken, the step
 * the halt stopped, and each verdict with the evidence it was taken on, in the words of its bounds.
 */
describe("the demo's promotion and guard trip on the cockpit's route page", () => {
  let demo: DemoBackends;
  let shipped: Awaited<ReturnType<typeof startShippedProxy>>;
  let proxy: Strangler;
  let browser: Browser;
  // Starts at the real time, so the page's relative ages and countdown read as they would live.
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    demo = await startDemoBackends();
    shipped = await startShippedProxy(demo, clock);
    proxy = shipped.proxy;
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await shipped?.close();
    await demo?.close();
  });

  /** `n` order reads by distinct users, then waits for their comparisons. Returns the statuses seen. */
  async function orderReads(n: number, firstUser: number): Promise<Set<number>> {
    const statuses = new Set<number>();
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${proxy.url}/api/orders/ord_seed_${String(1 + (i % 40)).padStart(3, "0")}`, { headers: { "x-user-id": `user-${firstUser + i}` } });
      statuses.add(res.status);
      await res.arrayBuffer();
    }
    await until(async () => proxy.shadows.inFlight, (x) => x === 0);
    return statuses;
  }

  it("shows the steps taken, the step the halt stopped, and each verdict with its evidence", async () => {
    await adminJson(proxy.adminUrl, "/api/routes/order-detail/promotion/start", { method: "POST", json: { reason: "the README's promotion command" } });
    for (let step = 0; step < 2; step++) {
      expect(await orderReads(25, step * 100)).toEqual(new Set([200]));
      clock.advance(10_000);
      await proxy.migrations.tick();
    }
    expect(proxy.rollouts.state.get("order-detail")?.percent).toBe(25);

    await fetch(`${demo.orders.url}/__demo/failure`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ status: 500 }) });
    // order-detail has no fallback: the users on the service see its 500s until the guard acts.
    expect(await orderReads(120, 1_000)).toEqual(new Set([200, 500]));
    await fetch(`${demo.orders.url}/__demo/failure`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ status: 0 }) });
    await proxy.migrations.tick();
    expect(proxy.migrations.get("order-detail")?.state).toBe("halted");
    expect(proxy.rollouts.state.get("order-detail")?.percent).toBe(0);

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${proxy.adminUrl}/dashboard#/route/order-detail`);
    await page.waitForSelector("#timeline #steps");

    // 1% and 5% passed; the halt stopped the promotion at 25%; 50% and 100% were never reached.
    expect(await page.locator("#steps .step").evaluateAll((steps) => steps.map((s) => [s.className, s.textContent]))).toEqual([
      ["step done", "✓ 1%"],
      ["step done", "✓ 5%"],
      ["step halted", "✕ 25%"],
      ["step next", "○ 50%"],
      ["step next", "○ 100%"],
    ]);
    expect(await page.locator("#promotion-status").textContent()).toMatch(/^halted by its guard at 0%: the promotion is paused at step 3 of 5 \(25%\) until someone lifts the halt/);
    expect(await page.locator("#countdown").count()).toBe(0);

    // The guard's trip, in a sentence, with the evidence and the bounds it was judged against.
    const trip = page.locator('#verdicts li[data-action="halted"]');
    expect(await trip.locator(".sentence").textContent()).toMatch(/^guard rolled back to 0% and halted the route: error rate [\d.]+% > 20% over \d+ requests \(\d+ errors\)(; divergence rate [\d.]+% > 50% over \d+ comparisons \(\d+ diverged\))?$/);
    expect(await trip.locator(".evidence").textContent()).toMatch(/^\d+ service requests, error rate [\d.]+% \(bound 20\.0%\) · \d+ comparisons, divergence [\d.]+% \(bound 50\.0%\)/);
    // Both steps the promotion took, each with the evidence that passed it.
    const steps = page.locator('#verdicts li[data-action="promote_step"]');
    expect(await steps.count()).toBe(2);
    expect(await steps.locator(".sentence").allTextContents()).toEqual([
      expect.stringMatching(/^promotion stepped from 5% to 25%: evidence passed at 5% \(0\/\d+ diverged, 0\/\d+ target errors\)$/),
      expect.stringMatching(/^promotion stepped from 1% to 5%: evidence passed at 1% \(0\/\d+ diverged, 0\/\d+ target errors\)$/),
    ]);
    for (const line of await steps.locator(".evidence").allTextContents()) expect(line).toMatch(/\d+ comparisons, divergence 0\.0% \(bound 20\.0% at 95% confidence\)/);
    expect(await page.locator('#verdicts li[data-action="promotion_start"] .sentence').textContent()).toMatch(/started the promotion at 1% \(steps 1 → 5 → 25 → 50 → 100\): the README's promotion command/);

    // Told once in the timeline (the halt), though the audit trail holds the percentage change too.
    expect(await page.locator('#verdicts li[data-action="guard_rollback"]').count()).toBe(0);
    expect(await page.locator('#audit li[data-action="guard_rollback"]').count()).toBe(1);
    // While halted, the page offers to lift the halt and no raise that the API would refuse.
    expect(await page.locator("#route-head button").allTextContents()).toEqual(expect.arrayContaining(["Lift the halt"]));
    expect(await page.locator("#route-head button", { hasText: "next step" }).count()).toBe(0);

    // The failing service's 500s: a status divergence, named as such beside the JSON body's fields (the
    // order's own "status" field is not it, and is not marked in the pair).
    const statusField = page.locator('#field-tree .field[data-path="status"]');
    expect(await statusField.locator("code").textContent()).toBe("HTTP status");
    expect(await page.locator('#field-tree .field[data-path="$.status"]').count()).toBe(0);
    const signature = page.locator("#divergences .signature").first();
    expect(await signature.locator("strong").textContent()).toBe("HTTP status differs");
    expect(await signature.locator("ul.diff li").first().textContent()).toBe("HTTP status: 200 → 500");
    expect(await signature.locator("pre span.hit").count()).toBe(0);

    expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, "cockpit-demo-route.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
