import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/guard/clock.ts";
import type { Strangler } from "../../src/strangler.ts";
import { adminJson } from "../helpers/admin.ts";
import { until } from "../helpers/wait.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

type Mode = "ok" | "error" | "diverge";

describe("guards and progressive promotion (a hand-driven clock)", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let target: Fixture;
  let mode: Mode = "ok";
  const open: Strangler[] = [];

  beforeAll(async () => {
    legacy = await startFixture((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ v: 1 }));
    });
    target = await startFixture((_req, res) => {
      res.setHeader("content-type", "application/json");
      if (mode === "error") res.statusCode = 500;
      res.end(JSON.stringify({ v: mode === "diverge" ? 2 : 1 }));
    });
  });
  afterEach(async () => {
    mode = "ok";
    await Promise.all(open.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await Promise.all([legacy.close(), target.close()]);
    temp.remove();
  });

  const backends = () => ({ legacy: { url: legacy.url }, svc: { url: target.url } });

  async function proxyWith(routes: unknown[], clock: ManualClock, dataDir?: string, name = `c${Math.random().toString(36).slice(2)}.config.ts`): Promise<Strangler> {
    const proxy = await startTestProxy(writeConfig(temp.dir, { backends: backends(), routes } as never, name), { clock, guardTimer: false, ...(dataDir ? { dataDir } : {}) });
    open.push(proxy);
    return proxy;
  }

  /** Sends `n` requests from distinct users and waits until their shadow comparisons (if any) are in. */
  async function traffic(proxy: Strangler, path: string, n: number, from = 0): Promise<void> {
    for (let i = 0; i < n; i++) await (await fetch(`${proxy.url}${path}`, { headers: { "x-user-id": `u${from + i}` } })).text();
    await until(async () => proxy.shadows.inFlight, (x) => x === 0);
  }

  const live = (proxy: Strangler, id: string) => proxy.rollouts.state.get(id)?.percent;

  it("a target that starts answering 500s is rolled back and halted within one evaluation, and stays back", async () => {
    const clock = new ManualClock();
    const proxy = await proxyWith(
      [{ id: "r", match: { path: "/r" }, target: "svc", rollout: { percent: 50 }, guard: { windowMs: 60_000, minSamples: 10, maxErrorRate: 0.2 } }],
      clock,
    );
    await traffic(proxy, "/r", 40);
    await proxy.migrations.tick();
    expect(live(proxy, "r")).toBe(50);
    expect(proxy.migrations.get("r")?.state).toBe("canary");

    mode = "error";
    await traffic(proxy, "/r", 40, 100);
    await proxy.migrations.tick();
    expect(live(proxy, "r")).toBe(0);
    expect(proxy.migrations.get("r")).toMatchObject({ state: "halted", stateBy: "guard" });
    const audit = await adminJson<{ entries: Array<{ action: string; actor: string; reason: string; newValue: { evidence?: { target: { errors: number } } } }> }>(proxy.adminUrl, "/api/audit?route=r&limit=5");
    const halted = audit.entries.find((e) => e.action === "halted");
    expect(halted?.reason).toMatch(/^rolled back to 0% and halted the route: error rate [\d.]+% > 20% over \d+ requests/);
    expect(halted?.newValue.evidence?.target.errors).toBeGreaterThan(5);
    expect(audit.entries.some((e) => e.action === "guard_rollback" && e.actor === "guard")).toBe(true);
    expect(await (await fetch(`${proxy.adminUrl}/metrics`)).text()).toMatch(/strangler_guard_trips_total\{route="r"\} 1/);

    // Healthy again, much later: a halted route stays halted until a person resumes it.
    mode = "ok";
    clock.advance(600_000);
    await traffic(proxy, "/r", 20, 200);
    await proxy.migrations.tick();
    expect(live(proxy, "r")).toBe(0);
    expect(proxy.migrations.get("r")?.state).toBe("halted");
    const resumed = await adminJson<{ state: string }>(proxy.adminUrl, "/api/routes/r/resume", { method: "POST", json: { reason: "fixed the 500s" } });
    expect(resumed.state).toBe("legacy");
  });

  it("a halted route cannot be raised by hand (409 with the way out); a config edit that raises it is still judged", async () => {
    const clock = new ManualClock();
    const route = { id: "h", match: { path: "/h" }, target: "svc", rollout: { percent: 50 }, guard: { windowMs: 60_000, minSamples: 10, maxErrorRate: 0.2 }, promote: { steps: [10, 100], intervalMs: 60_000 } };
    const name = "halted.config.ts";
    const proxy = await proxyWith([route], clock, undefined, name);
    mode = "error";
    await traffic(proxy, "/h", 40);
    await proxy.migrations.tick();
    expect(proxy.migrations.get("h")?.state).toBe("halted");
    expect(live(proxy, "h")).toBe(0);

    const auditBefore = (await adminJson<{ entries: unknown[] }>(proxy.adminUrl, "/api/audit?route=h&limit=200")).entries.length;
    const put = await fetch(`${proxy.adminUrl}/api/routes/h/rollout`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ percent: 100, reason: "force it" }) });
    expect(put.status).toBe(409);
    const error = ((await put.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("route_halted");
    expect(error.message).toContain("POST /api/routes/h/resume");
    for (const action of ["promotion/start", "promotion/step"]) {
      const res = await fetch(`${proxy.adminUrl}/api/routes/h/${action}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ reason: "force it" }) });
      expect(res.status, action).toBe(409);
    }
    expect(live(proxy, "h")).toBe(0);
    expect(proxy.migrations.get("h")?.state).toBe("halted");
    expect((await adminJson<{ entries: unknown[] }>(proxy.adminUrl, "/api/audit?route=h&limit=200")).entries.length).toBe(auditBefore);
    // Lowering is always allowed.
    await adminJson(proxy.adminUrl, "/api/routes/h/rollback", { method: "POST", json: { reason: "make sure" } });

    // The file's value for this route changes while it is halted: the guard judges it again, and the
    // still-failing target is rolled back a second time instead of serving 70% unguarded.
    writeConfig(temp.dir, { backends: backends(), routes: [{ ...route, rollout: { percent: 70 } }] } as never, name);
    expect((await proxy.reload()).applied).toBe(true);
    expect(live(proxy, "h")).toBe(70);
    await traffic(proxy, "/h", 40, 500);
    await proxy.migrations.tick();
    expect(live(proxy, "h")).toBe(0);
    expect(proxy.migrations.get("h")?.state).toBe("halted");

    // Resumed, the route takes a percentage again, under its guard.
    mode = "ok";
    await adminJson(proxy.adminUrl, "/api/routes/h/resume", { method: "POST", json: { reason: "fixed" } });
    const raised = await adminJson<{ route: { rollout: { livePercent: number } } }>(proxy.adminUrl, "/api/routes/h/rollout", { method: "PUT", json: { percent: 25, reason: "again" } });
    expect(raised.route.rollout.livePercent).toBe(25);
  });

  it("a guard set to previous_step goes back one promotion step; pause and step by hand work", async () => {
    const clock = new ManualClock();
    const proxy = await proxyWith(
      [{ id: "ps", match: { path: "/ps" }, target: "svc", rollout: { percent: 0 }, promote: { steps: [10, 50, 100], intervalMs: 60_000, minSamples: 10 }, guard: { minSamples: 10, maxErrorRate: 0.2, onTrip: "previous_step" } }],
      clock,
    );
    await adminJson(proxy.adminUrl, "/api/routes/ps/promotion/start", { method: "POST", json: { reason: "go" } });
    const paused = await adminJson<{ state: string; promotion: string }>(proxy.adminUrl, "/api/routes/ps/promotion/pause", { method: "POST", json: { reason: "lunch" } });
    expect(paused).toMatchObject({ state: "paused", promotion: "paused" });
    await adminJson(proxy.adminUrl, "/api/routes/ps/promotion/resume", { method: "POST", json: { reason: "back" } });
    const stepped = await adminJson<{ stepIndex: number }>(proxy.adminUrl, "/api/routes/ps/promotion/step", { method: "POST", json: { reason: "confident" } });
    expect(stepped.stepIndex).toBe(1);
    expect(live(proxy, "ps")).toBe(50);
    mode = "error";
    await traffic(proxy, "/ps", 40);
    await proxy.migrations.tick();
    expect(live(proxy, "ps")).toBe(10);
    expect(proxy.migrations.get("ps")).toMatchObject({ state: "halted", stepIndex: 0, promotion: "paused" });
  });

  it("a target whose shadow divergence rate rises past the threshold is rolled back", async () => {
    const clock = new ManualClock();
    const proxy = await proxyWith(
      [{ id: "d", match: { path: "/d" }, target: "svc", rollout: { percent: 10 }, shadow: { percent: 100 }, guard: { minSamples: 10, maxDivergenceRate: 0.1 } }],
      clock,
    );
    await traffic(proxy, "/d", 20);
    await proxy.migrations.tick();
    expect(live(proxy, "d")).toBe(10);
    mode = "diverge";
    await traffic(proxy, "/d", 20, 100);
    await proxy.migrations.tick();
    expect(live(proxy, "d")).toBe(0);
    expect(proxy.migrations.get("d")?.state).toBe("halted");
  });

  it("without enough samples, a guard and a promotion both wait, and say so", async () => {
    const clock = new ManualClock();
    const proxy = await proxyWith(
      [{ id: "quiet", match: { path: "/quiet" }, target: "svc", rollout: { percent: 0 }, shadow: { percent: 100 }, guard: { minSamples: 10, maxErrorRate: 0.1 }, promote: { steps: [5, 100], intervalMs: 60_000, minSamples: 30 } }],
      clock,
    );
    await adminJson(proxy.adminUrl, "/api/routes/quiet/promotion/start", { method: "POST", json: { reason: "go" } });
    await traffic(proxy, "/quiet", 3);
    clock.advance(61_000);
    await proxy.migrations.tick();
    expect(live(proxy, "quiet")).toBe(5);
    const migration = await adminJson<{ stepIndex: number; lastVerdict: { guard: { verdict: string }; promotion: { verdict: string; reason: string } } }>(proxy.adminUrl, "/api/routes/quiet/migration");
    expect(migration.stepIndex).toBe(0);
    expect(migration.lastVerdict.guard.verdict).toBe("insufficient_data");
    // Timestamps are ISO 8601 here as everywhere else in the API.
    expect((migration.lastVerdict as unknown as { at: string }).at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect((migration as unknown as { stepStartedAt: string }).stepStartedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(migration.lastVerdict.promotion).toMatchObject({ verdict: "insufficient_data", reason: "3 of 30 shadow comparisons" });
  });

  it("a clean route promotes through every step by evidence and ends migrated", async () => {
    const clock = new ManualClock();
    const steps = [1, 5, 25, 50, 100];
    const proxy = await proxyWith(
      [{ id: "p", match: { path: "/p" }, target: "svc", rollout: { percent: 0 }, shadow: { percent: 100 }, promote: { steps, intervalMs: 60_000, minSamples: 30, maxDivergenceRate: 0.2 } }],
      clock,
    );
    expect(proxy.migrations.get("p")?.state).toBe("shadowing");
    const started = await adminJson<{ state: string; promotion: string }>(proxy.adminUrl, "/api/routes/p/promotion/start", { method: "POST", json: { reason: "evidence says go" } });
    expect(started).toMatchObject({ state: "canary", promotion: "running" });
    const seen: number[] = [live(proxy, "p") as number];
    for (let round = 0; round < steps.length; round++) {
      await traffic(proxy, "/p", 40, round * 100);
      clock.advance(30_000);
      await proxy.migrations.tick(); // half an interval: no step yet
      expect(live(proxy, "p")).toBe(seen[seen.length - 1]);
      clock.advance(30_000);
      await proxy.migrations.tick();
      seen.push(live(proxy, "p") as number);
    }
    expect(seen).toEqual([1, 5, 25, 50, 100, 100]);
    expect(proxy.migrations.get("p")).toMatchObject({ state: "migrated", promotion: "done" });
    const audit = await adminJson<{ entries: Array<{ action: string }> }>(proxy.adminUrl, "/api/audit?route=p&limit=100");
    expect(audit.entries.filter((e) => e.action === "promote_step")).toHaveLength(4);
    expect(audit.entries.filter((e) => e.action === "promotion_done")).toHaveLength(1);
  });

  it("a restart in the middle of a promotion resumes at the same step with the same timer", async () => {
    const clock = new ManualClock();
    const dataDir = `${temp.dir}/restart`;
    const routes = [{ id: "rs", match: { path: "/rs" }, target: "svc", rollout: { percent: 0 }, shadow: { percent: 100 }, promote: { steps: [1, 10, 100], intervalMs: 60_000, minSamples: 20, maxDivergenceRate: 0.2 } }];
    const first = await proxyWith(routes, clock, dataDir, "restart.config.ts");
    await adminJson(first.adminUrl, "/api/routes/rs/promotion/start", { method: "POST", json: { reason: "go" } });
    await traffic(first, "/rs", 30);
    clock.advance(60_000);
    await first.migrations.tick();
    expect(live(first, "rs")).toBe(10);
    const before = first.migrations.get("rs");
    clock.advance(20_000);
    await first.close();
    open.splice(open.indexOf(first), 1);

    const second = await proxyWith(routes, clock, dataDir, "restart.config.ts");
    expect(second.migrations.get("rs")).toMatchObject({ stepIndex: 1, stepStartedAt: before?.stepStartedAt, promotion: "running" });
    expect(live(second, "rs")).toBe(10);
    await traffic(second, "/rs", 30);
    clock.advance(30_000); // 50 s into the step: not yet
    await second.migrations.tick();
    expect(live(second, "rs")).toBe(10);
    clock.advance(10_000); // 60 s: the same timer as before the restart
    await second.migrations.tick();
    expect(live(second, "rs")).toBe(100);
  });

  it("two processes on one database take a step once", async () => {
    const clock = new ManualClock();
    const dataDir = `${temp.dir}/shared`;
    const routes = [{ id: "two", match: { path: "/two" }, target: "svc", rollout: { percent: 0 }, shadow: { percent: 100 }, promote: { steps: [1, 50, 100], intervalMs: 60_000, minSamples: 20, maxDivergenceRate: 0.2 } }];
    const a = await proxyWith(routes, clock, dataDir, "two.config.ts");
    const b = await proxyWith(routes, clock, dataDir, "two.config.ts");
    await adminJson(a.adminUrl, "/api/routes/two/promotion/start", { method: "POST", json: { reason: "go" } });
    await traffic(a, "/two", 30);
    await traffic(b, "/two", 30, 100);
    clock.advance(60_000);
    await a.migrations.tick();
    await b.migrations.tick();
    expect(live(a, "two")).toBe(50);
    await until(async () => live(b, "two"), (p) => p === 50, 5_000);
    const audit = await adminJson<{ entries: Array<{ action: string }> }>(a.adminUrl, "/api/audit?route=two&limit=100");
    expect(audit.entries.filter((e) => e.action === "promote_step")).toHaveLength(1);
  });
});
