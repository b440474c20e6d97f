import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOrders } from "../../extracted-services/orders/src/app.ts";
import type { RunningDemoApp } from "../../demo-data/start-demo-app.ts";
import { systemClock } from "../../src/guard/clock.ts";
import type { ReplayReport } from "../../src/replay/replay-report.ts";
import type { Strangler } from "../../src/strangler.ts";
import { PLANTED, startBrokenOrders } from "../helpers/broken-orders.ts";
import { runProcess } from "../helpers/child-proxy.ts";
import { startDemoBackends, startShippedProxy, type DemoBackends } from "../helpers/demo.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

/**
 * Issue 29's Done-when, on the demo: order-detail and order-create recorded from `npm run traffic`,
 * replayed with the CLI against the orders service in a sandbox and against a deliberately broken copy
 * of it; the broken copy's planted differences are all reported and the healthy one passes, twice with
 * identical verdicts, with writes only against the sandboxes.
 */
describe("record and replay on the demo", () => {
  const sandboxes = makeTempDir("strangler-sandbox-");
  let demo: DemoBackends;
  let shipped: { proxy: Strangler; close(): Promise<void> };
  let healthy: RunningDemoApp;
  let broken: RunningDemoApp;
  let recordings: string;

  const run = (command: string, args: string[], env: Record<string, string> = {}) =>
    runProcess(command, args, { ...(process.env as Record<string, string>), STRANGLER_ADMIN_URL: shipped.proxy.adminUrl, ...env });
  const strangler = (...args: string[]) => run(process.execPath, ["bin/strangler.js", ...args]);
  const orderCount = (app: RunningDemoApp) => (app.db.prepare("SELECT count(*) AS n FROM orders").get() as { n: number }).n;

  beforeAll(async () => {
    demo = await startDemoBackends();
    shipped = await startShippedProxy(demo, systemClock);
    [healthy, broken] = await Promise.all([startOrders({ dataDir: `${sandboxes.dir}/healthy`, port: 0 }), startBrokenOrders({ dataDir: `${sandboxes.dir}/broken`, port: 0 })]);
  });
  afterAll(async () => {
    await shipped?.close();
    await Promise.all([demo?.close(), healthy?.close(), broken?.close()]);
    sandboxes.remove();
  });

  it("records order-detail and order-create from npm run traffic", async () => {
    for (const route of ["order-detail", "order-create"]) {
      const started = await strangler("record", route, "--rate", "1", "--max", "1000", "--reason", "before extracting orders");
      expect(started.stdout).toMatch(new RegExp(`^${route}: recording \\d+ started`));
    }
    const traffic = await run(process.execPath, ["--import", "tsx", "scripts/traffic.ts"], { PROXY_URL: shipped.proxy.url, COUNT: "420", ORDERS: "30" });
    expect(traffic.code, traffic.stderr).toBe(0);
    expect(traffic.stdout).toContain("30 × 201 legacy");
    for (const route of ["order-detail", "order-create"]) expect((await strangler("record", "stop", route, "--reason", "enough")).code).toBe(0);
    const listed = JSON.parse((await strangler("recordings", "--json")).stdout) as { recordings: Array<{ id: number; routeId: string; exchanges: number }> };
    const byRoute = Object.fromEntries(listed.recordings.map((r) => [r.routeId, r]));
    // One request in seven reads an order (60, most of them of the orders just placed), and 30 orders placed.
    expect(byRoute["order-detail"]?.exchanges).toBe(60);
    expect(byRoute["order-create"]?.exchanges).toBe(30);
    recordings = `${byRoute["order-detail"]?.id},${byRoute["order-create"]?.id}`;
  });

  it("a dry run against the sandbox says what it would send, and sends nothing", async () => {
    const before = orderCount(healthy);
    const plan = await strangler("replay", recordings, "--against", healthy.url, "--sandbox", "--dry-run");
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain("requests:       90 of 90 exchanges (60 reads, 30 writes), ");
    expect(plan.stdout).toContain("authentication: order-detail: none");
    expect(orderCount(healthy)).toBe(before);
  });

  it("the orders service passes, twice with the same verdicts; the broken copy fails with every planted difference, twice the same; writes only in the sandboxes", async () => {
    const ordersBefore = { monolith: orderCount(demo.monolith), service: orderCount(demo.orders) };
    const replay = async (url: string) => {
      const result = await strangler("replay", recordings, "--against", url, "--sandbox", "--concurrency", "8", "--reason", "orders before the canary", "--json");
      return { code: result.code, report: JSON.parse(result.stdout) as ReplayReport };
    };
    const first = await replay(healthy.url);
    expect(first.code, first.report.verdict).toBe(0);
    expect(first.report).toMatchObject({ status: "passed", passRate: 1, counts: { exchanges: 90, sent: 90, matched: 90, diverged: 0, skippedWrites: 0, flaky: 0 } });
    // Each order placed in the sandbox got its own id, which the user's read of it then asked for.
    expect(first.report.counts.correlatedFields).toBeGreaterThanOrEqual(30 * 2);
    const second = await replay(healthy.url);
    expect(second.code).toBe(0);
    expect(second.report.counts).toEqual({ ...first.report.counts, correlatedFields: second.report.counts.correlatedFields });
    // The 40 seeded orders, and the 30 placed by each run.
    expect(orderCount(healthy)).toBe(40 + 2 * 30);

    const bad = await replay(broken.url);
    expect(bad.code).toBe(1);
    expect(bad.report.status).toBe("failed");
    const found = bad.report.signatures.map((s) => `${s.kind} ${s.path}`);
    for (const planted of PLANTED) expect(found).toContain(planted);
    const again = await replay(broken.url);
    expect(again.code).toBe(1);
    expect(again.report.signatures.map((s) => [s.kind, s.path, s.count])).toEqual(bad.report.signatures.map((s) => [s.kind, s.path, s.count]));
    expect(again.report.flaky).toEqual([]);
    // Nothing was written to the monolith or to the demo's own orders service.
    expect({ monolith: orderCount(demo.monolith), service: orderCount(demo.orders) }).toEqual(ordersBefore);
  });
});
