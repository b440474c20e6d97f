import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startDemoBackends, type DemoBackends } from "../helpers/demo.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/wait.ts";

const TOKEN = "cockpit-token-0123456789";
const ARTIFACTS = join(process.cwd(), "test-artifacts");
const LONG_ID = "orders-export-for-the-finance-teams-monthly-reconciliation-report";

interface AuditEntry {
  readonly action: string;
  readonly actor: string;
  readonly reason: string;
  readonly routeId: string | null;
}

/**
 * The migration cockpit in headless Chromium, over the demo services and a target whose errors the test
 * turns on: the overview fits 1280 px, every per-route action goes through its confirmation and lands in
 * the audit trail, the route page tells the promotion's story (steps, a guard trip with its evidence),
 * its charts plot real traffic on time axes, and a stored divergence is replayed to both backends.
 */
describe("the migration cockpit in headless Chromium", () => {
  const temp = makeTempDir();
  let demo: DemoBackends;
  let flakyLegacy: Fixture;
  let flakyTarget: Fixture;
  let failing = false;
  let proxy: Strangler;
  let browser: Browser;

  beforeAll(async () => {
    demo = await startDemoBackends();
    const json = (body: unknown) => JSON.stringify(body);
    flakyLegacy = await startFixture((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(json({ ok: true }));
    });
    flakyTarget = await startFixture((_req, res) => {
      res.setHeader("content-type", "application/json");
      if (failing) res.statusCode = 500;
      res.end(json({ ok: !failing }));
    });
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { ...demo.backends, flakylegacy: { url: flakyLegacy.url }, flaky: { url: flakyTarget.url } },
        routes: [
          { id: "products-list", match: { methods: ["GET"], path: "/api/products" }, target: "catalog", rollout: { percent: 0 }, shadow: { percent: 100 } },
          { id: "orders-list", match: { methods: ["GET"], path: "/api/orders" }, target: "orders", rollout: { percent: 25 } },
          { id: LONG_ID, match: { methods: ["GET"], path: "/api/orders/export/monthly/finance/reconciliation/:year/:month" }, target: "orders", rollout: { percent: 0 } },
          {
            id: "flaky",
            match: { path: "/flaky" },
            legacy: "flakylegacy",
            target: "flaky",
            rollout: { percent: 0 },
            shadow: { percent: 100 },
            promote: { steps: [10, 50, 100], intervalMs: 1_000, minSamples: 5, maxDivergenceRate: 0.5 },
            guard: { windowMs: 60_000, minSamples: 5, maxErrorRate: 0.2, onTrip: "previous_step" },
          },
        ],
      }),
      { adminTokens: [{ label: "ops", token: TOKEN }], guardTimer: false },
    );
    for (let i = 0; i < 12; i++) {
      await (await fetch(`${proxy.url}/api/products?page=${1 + (i % 3)}`, { headers: { "x-user-id": `u${i}` } })).arrayBuffer();
      await (await fetch(`${proxy.url}/api/orders`, { headers: { "x-user-id": `u${i}` } })).arrayBuffer();
    }
    await until(async () => proxy.shadows.inFlight, (n) => n === 0);
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await Promise.all([demo?.close(), flakyLegacy?.close(), flakyTarget?.close()]);
    temp.remove();
  });

  const page1280 = () => browser.newPage({ httpCredentials: { username: "ops", password: TOKEN }, viewport: { width: 1280, height: 800 } });
  const api = async <T>(path: string): Promise<T> => (await (await fetch(`${proxy.adminUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as T;
  const audit = async (route: string) => (await api<{ entries: AuditEntry[] }>(`/api/audit?route=${encodeURIComponent(route)}&limit=50`)).entries;
  const noHorizontalScroll = (page: Page) => page.evaluate("document.documentElement.scrollWidth <= window.innerWidth");

  /** Picks a row action in the overview, fills the confirmation and confirms it. */
  async function rowAction(page: Page, route: string, label: string, reason: string, percent?: number): Promise<void> {
    const select = page.locator(`tr[data-route="${route}"] select.row-action`);
    const value = await select.locator("option", { hasText: label }).getAttribute("value");
    expect(value, `${route} offers "${label}"`).toBeTruthy();
    await select.selectOption(value as string);
    await page.waitForSelector("#action-dialog[open]");
    if (percent !== undefined) await page.fill("#action-percent", String(percent));
    await page.fill("#action-reason", reason);
    await page.click("#action-confirm");
    await page.waitForSelector("#action-dialog", { state: "detached" });
  }

  /** Sends `n` requests of distinct users to /flaky and waits for their comparisons. */
  async function flakyTraffic(n: number, from: number): Promise<void> {
    for (let i = 0; i < n; i++) await (await fetch(`${proxy.url}/flaky`, { headers: { "x-user-id": `f${from + i}` } })).arrayBuffer();
    await until(async () => proxy.shadows.inFlight, (x) => x === 0);
  }

  it("the overview fits 1280 px with no horizontal scroll, the failing routes first, each row with its last hour", async () => {
    const page = await page1280();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${proxy.adminUrl}/dashboard`);
    await page.waitForSelector(`#routes tr[data-route="${LONG_ID}"]`);
    await expect.poll(() => page.locator('tbody[data-group="failing"] tr[data-route="products-list"]').count(), { timeout: 10_000 }).toBe(1);
    expect(await noHorizontalScroll(page)).toBe(true);
    const groups = await page.locator("#routes tbody").evaluateAll((bodies) => bodies.map((b) => b.getAttribute("data-group")));
    expect(groups[0]).toBe("failing");
    // The sparkline of a route with traffic draws its minute.
    await expect.poll(() => page.locator('tr[data-route="orders-list"] svg.sparkline path.spark-share').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('tr[data-route="orders-list"] svg.sparkline').getAttribute("aria-label")).toMatch(/^last hour: \d+ requests, \d+% served by the service/);
    await page.screenshot({ path: join(ARTIFACTS, "cockpit-overview.png") });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("every per-route action goes through a confirmation with a reason, works, and is audited", async () => {
    const page = await page1280();
    await page.goto(`${proxy.adminUrl}/dashboard`);
    await page.waitForSelector('tr[data-route="flaky"] select.row-action');

    // A reason is required: confirming without one changes nothing.
    const select = page.locator('tr[data-route="orders-list"] select.row-action');
    await select.selectOption("rollback");
    await page.click("#action-confirm");
    expect(await page.locator("#action-error").textContent()).toMatch(/reason is required/);
    await page.click("#action-cancel");
    expect(proxy.rollouts.state.get("orders-list")?.percent).toBe(25);

    await rowAction(page, "flaky", "Start promotion", "start the flaky promotion");
    expect(proxy.rollouts.state.get("flaky")?.percent).toBe(10);
    await rowAction(page, "flaky", "Pause promotion", "pause to look");
    expect(proxy.migrations.get("flaky")?.promotion).toBe("paused");
    await rowAction(page, "flaky", "Resume promotion", "looked, go on");
    expect(proxy.migrations.get("flaky")?.promotion).toBe("running");
    await rowAction(page, "flaky", "Take the next step now", "skip ahead by hand");
    expect(proxy.rollouts.state.get("flaky")?.percent).toBe(50);

    await rowAction(page, "orders-list", "Set percentage", "orders verified", 100);
    expect(proxy.rollouts.state.get("orders-list")?.percent).toBe(100);
    const salt = proxy.rollouts.state.get("orders-list")?.salt;
    await rowAction(page, "orders-list", "Re-roll", "new cohort");
    expect(proxy.rollouts.state.get("orders-list")?.salt).not.toBe(salt);
    await rowAction(page, LONG_ID, "Set percentage", "try the export", 30);
    await rowAction(page, LONG_ID, "Roll back", "export is wrong");
    expect(proxy.rollouts.state.get(LONG_ID)?.percent).toBe(0);
    await expect.poll(() => page.locator("#message").textContent()).toMatch(/^Done: Roll .* back to 0%/);
    // Retiring a route the monolith never answered (its code can go): at 100% first.
    await rowAction(page, LONG_ID, "Set percentage", "export moved", 100);
    await rowAction(page, LONG_ID, "Retire", "monolith code deleted");
    expect(proxy.migrations.get(LONG_ID)?.state).toBe("retired");

    const reasons = async (route: string) => (await audit(route)).filter((e) => e.actor === "ops").map((e) => [e.action, e.reason]);
    expect(await reasons("flaky")).toEqual(expect.arrayContaining([
      ["promotion_start", "start the flaky promotion"],
      ["promotion_pause", "pause to look"],
      ["promotion_resume", "looked, go on"],
      ["promote_step", "skip ahead by hand"],
    ]));
    expect(await reasons("orders-list")).toEqual(expect.arrayContaining([
      ["set_percent", "orders verified"],
      ["reroll_salt", "new cohort"],
    ]));
    expect(await reasons(LONG_ID)).toEqual(expect.arrayContaining([["rollback", "export is wrong"], ["retire", "monolith code deleted"]]));
    await page.close();
  });

  it("the route page's timeline shows the promotion's steps and a guard trip with its evidence; lifting the halt is audited", async () => {
    // The promotion stands at step 2 of 3 (50%): the target now fails, and the judge runs.
    await flakyTraffic(10, 0);
    failing = true;
    await flakyTraffic(40, 100);
    failing = false;
    await proxy.migrations.tick();
    expect(proxy.migrations.get("flaky")?.state).toBe("halted");

    const page = await page1280();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${proxy.adminUrl}/dashboard#/route/flaky`);
    await page.waitForSelector("#timeline #steps");
    // The guard took the promotion back a step (onTrip previous_step): it is halted at 10%.
    expect(await page.locator("#steps .step").evaluateAll((steps) => steps.map((s) => [s.className, s.textContent]))).toEqual([
      ["step halted", "✕ 10%"],
      ["step next", "○ 50%"],
      ["step next", "○ 100%"],
    ]);
    expect(await page.locator("#promotion-status").textContent()).toMatch(/^halted by its guard at 10%: the promotion is paused at step 1 of 3 \(10%\) until someone lifts the halt/);
    const trip = page.locator('#verdicts li[data-action="halted"]');
    expect(await trip.locator(".sentence").textContent()).toMatch(/^guard rolled back to 10% and halted the route: error rate [\d.]+% > 20% over \d+ requests \(\d+ errors\)$/);
    expect(await trip.locator(".evidence").textContent()).toMatch(/\d+ service requests, error rate [\d.]+% \(bound 20\.0%\)/);
    expect(await page.locator('#verdicts li[data-action="promote_step"] .sentence').first().textContent()).toMatch(/took the promotion's next step by hand/);
    expect(await page.locator("#last-verdict").textContent()).toMatch(/guard: tripped: error rate/);
    expect(await page.locator("#guard-bounds").textContent()).toMatch(/error rate ≤ 20\.0%/);
    // The newest change by a person or a guard (the shadow's announcement of the recurring 500s may be newer).
    const changes = (await page.locator("#audit .sentence").allTextContents()).filter((t) => !t.startsWith("shadow comparison found"));
    expect(changes[0]).toMatch(/^guard set the rollout from 50% to 10%/);
    expect(await noHorizontalScroll(page)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, "cockpit-route.png"), fullPage: true });

    await page.click("#action-resume");
    await page.fill("#action-reason", "target fixed");
    await page.click("#action-confirm");
    await page.waitForSelector("#action-dialog", { state: "detached" });
    expect(proxy.migrations.get("flaky")?.state).not.toBe("halted");
    expect((await audit("flaky")).find((e) => e.action === "resume")).toMatchObject({ actor: "ops", reason: "target fixed" });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("the charts have time axes and plot points from the real traffic, over 15 min, 1 h, 6 h and 24 h", async () => {
    const page = await page1280();
    await page.goto(`${proxy.adminUrl}/dashboard#/route/flaky`);
    await page.waitForSelector("#chart-p99");
    for (const [hours, label] of [[0.25, "15 min"], [1, "1 h"], [6, "6 h"], [24, "24 h"]] as const) {
      await page.click(`#charts button[data-hours="${hours}"]`);
      await expect.poll(() => page.locator("#charts h2").textContent()).toContain(`The last ${label}`);
      for (const chart of ["#chart-rollout", "#chart-match", "#chart-errors", "#chart-p99"]) {
        expect(await page.locator(`${chart} .x-tick`).count(), `${chart} over ${hours} h`).toBeGreaterThanOrEqual(2);
        expect(await page.locator(`${chart} .y-tick`).count()).toBe(3);
      }
    }
    await page.click('#charts button[data-hours="1"]');
    // Until the last hour's charts are drawn, the 24 h ones (ticks a day wide) are still on the page.
    await expect.poll(() => page.locator("#charts h2").textContent()).toContain("The last 1 h");
    // The monolith and the service both answered this minute; the service's errors show on the error chart.
    await expect.poll(() => page.locator('#chart-p99 circle.point[data-series="service"]').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#chart-p99 circle.point[data-series="monolith"]').count()).toBeGreaterThanOrEqual(1);
    const serviceErrors = await page.locator('#chart-errors circle.point[data-series="service"]').evaluateAll((dots) => dots.map((d) => Number(d.getAttribute("data-value"))));
    expect(Math.max(...serviceErrors)).toBeGreaterThan(0);
    expect(await page.locator("#chart-match circle.point").count()).toBeGreaterThanOrEqual(1);
    // The rollout line steps through 10% and 50% and back to 10%, at the changes' times.
    expect(await page.locator("#chart-rollout circle.point").evaluateAll((dots) => dots.map((d) => Number(d.getAttribute("data-value"))))).toEqual(expect.arrayContaining([10, 50]));
    // The time ticks are local clock times within the hour shown.
    const withinTheHour = async () => {
      const ticks = await page.locator("#chart-p99 .x-tick").evaluateAll((t) => t.map((x) => Date.parse(x.getAttribute("data-time") as string)));
      return ticks.length >= 2 && ticks.every((t) => t > Date.now() - 3_700_000 && t <= Date.now() + 60_000);
    };
    await expect.poll(withinTheHour).toBe(true);
    await page.close();
  });

  it("a stored divergence, replayed from the page, is sent again to both backends and shows the fresh diff beside the per-field tree", async () => {
    const page = await page1280();
    await page.goto(`${proxy.adminUrl}/dashboard#/route/products-list`);
    await page.waitForSelector("#field-tree .field");
    const field = page.locator('#field-tree .field[data-path="$.items[*].price"]');
    expect(await field.locator(".field-rate").textContent()).toMatch(/^ [\d.]+% diverged$/);
    await field.click();
    await expect.poll(() => page.locator("#divergences h2").textContent()).toContain("showing $.items[*].price");

    await page.locator(".example button.replay").first().click();
    const result = page.locator(".replay-result[data-outcome]").first();
    await result.waitFor();
    expect(await result.getAttribute("data-outcome")).toBe("diverge");
    expect(await result.textContent()).toMatch(/Still diverges: Replayed .* monolith 200 in [\d.]+ ms, service 200/);
    expect(await result.locator("ul.diff").textContent()).toContain("type_changed $.items");
    expect(await noHorizontalScroll(page)).toBe(true);

    // The same through the API: a replay of an unknown example is a 404 with a JSON body.
    const missing = await fetch(`${proxy.adminUrl}/api/divergences/999999/examples/1/replay`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: "{}" });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "signature_not_found" } });
    await page.close();
  });

  it("records a route and replays the recording from its page: the run's verdict shows there and in the audit trail", async () => {
    const page = await page1280();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${proxy.adminUrl}/dashboard#/route/products-list`);
    await page.click("#recordings #action-record");
    await page.waitForSelector("#action-dialog[open]");
    await page.fill("#action-field-rate", "1");
    await page.fill("#action-field-max", "60");
    await page.fill("#action-reason", "before the catalog's canary");
    await page.click("#action-confirm");
    await page.waitForSelector("#action-dialog", { state: "detached" });
    await page.waitForSelector("#recordings #action-record-stop");
    for (let i = 0; i < 60; i++) await (await fetch(`${proxy.url}/api/products?page=${1 + (i % 3)}`, { headers: { "x-user-id": `rec${i}` } })).arrayBuffer();
    // Full at 60 exchanges, it stops itself.
    const state = page.locator("#recordings tr[data-recording] td:nth-child(2)").first();
    await expect.poll(() => state.textContent(), { timeout: 15_000 }).toBe("full");
    expect(await page.locator("#recordings tr[data-recording] td:nth-child(4)").first().textContent()).toBe("60 / 60");

    await page.locator("#recordings button.replay-recording").first().click();
    await page.waitForSelector("#action-dialog[open]");
    expect(await page.inputValue("#action-field-against")).toBe("catalog");
    expect(await page.isChecked("#action-field-sandbox")).toBe(false);
    await page.fill("#action-reason", "catalog 2.0 candidate");
    await page.click("#action-confirm");
    await page.waitForSelector("#action-dialog", { state: "detached" });
    // The catalog serialises book prices as strings: the run fails, and says why.
    const run = page.locator("#recordings .run").first();
    await expect.poll(() => run.getAttribute("class"), { timeout: 30_000 }).toBe("run failed");
    expect(await run.locator(".verdict-text").textContent()).toMatch(/^pass rate [\d.]+% over 60 exchanges: its Wilson lower bound \(95%\) [\d.]+% is under the 95% required/);
    await expect.poll(() => page.locator('#audit li[data-action="replay_run"]').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('#audit li[data-action="replay_run"] .sentence').textContent()).toMatch(/^ops replayed recording \d+ against http:\/\/127\.0\.0\.1:\d+: failed, /);
    expect((await audit("products-list")).filter((e) => e.actor === "ops").map((e) => [e.action, e.reason])).toEqual(
      expect.arrayContaining([
        ["recording_started", "before the catalog's canary"],
        ["replay_run", "catalog 2.0 candidate"],
      ]),
    );
    expect(await noHorizontalScroll(page)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, "cockpit-replay.png") });
    expect(errors).toEqual([]);
    await page.close();
  });
});
