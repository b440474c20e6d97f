import { createHmac } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/guard/clock.ts";
import type { Strangler } from "../../src/strangler.ts";
import { adminJson } from "../helpers/admin.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/wait.ts";

const SECRET = "release-bot-secret-0123456789";
const TOKENS = { ops: "ops-token-0123456789", boss: "boss-token-0123456789", grafana: "grafana-token-0123456789" };

interface Asked {
  readonly event: string;
  readonly body: Record<string, unknown>;
  readonly signed: boolean;
}

describe("approval gates: a promotion step that waits for a yes (a hand-driven clock)", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let target: Fixture;
  let bot: Fixture;
  let targetMode: "ok" | "error" | "diverge" = "ok";
  /** What the release bot answers a confirmation: 200 is a yes. */
  let botAnswer = 503;
  const asked: Asked[] = [];
  const open: Strangler[] = [];
  let browser: Browser | undefined;

  beforeAll(async () => {
    const json = (res: ServerResponse, status = 200, v = 1) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ v }));
    legacy = await startFixture((_req, res) => json(res));
    target = await startFixture((_req, res) => json(res, targetMode === "error" ? 500 : 200, targetMode === "diverge" ? 2 : 1));
    bot = await startFixture((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const signed = req.headers["x-strangler-signature"] === `sha256=${createHmac("sha256", SECRET).update(raw).digest("hex")}`;
        const event = String(req.headers["x-strangler-event"]);
        asked.push({ event, body: JSON.parse(raw) as Record<string, unknown>, signed });
        res.writeHead(event === "promotion.confirm" ? botAnswer : 200).end();
      });
    });
  });
  afterEach(async () => {
    targetMode = "ok";
    botAnswer = 503;
    asked.length = 0;
    await Promise.all(open.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([legacy.close(), target.close(), bot.close()]);
    temp.remove();
  });

  const promote = (approval: Record<string, unknown>) => ({ steps: [10, 50, 100], intervalMs: 60_000, minSamples: 10, maxDivergenceRate: 0.3, approval });
  async function proxyWith(approval: Record<string, unknown>, clock: ManualClock, guardTimer = false): Promise<Strangler> {
    const config = writeConfig(
      temp.dir,
      {
        backends: { legacy: { url: legacy.url }, svc: { url: target.url } },
        // With the guard timer on, its first evaluation is a minute away: the test's own ticks drive it.
        guards: { intervalMs: 60_000 },
        webhooks: [{ name: "release-bot", url: `${bot.url}/confirm`, secret: SECRET, events: ["promotion.awaiting_approval"], retryBackoffMs: 50, maxRetryBackoffMs: 50 }],
        routes: [{ id: "g", match: { path: "/g" }, target: "svc", rollout: { percent: 0 }, shadow: { percent: 100 }, promote: promote(approval), guard: { minSamples: 10, maxErrorRate: 0.2 } }],
      } as never,
      `gates-${Math.random().toString(36).slice(2)}.config.ts`,
    );
    const proxy = await startTestProxy(config, {
      clock,
      guardTimer,
      adminTokens: [
        { label: "ops", role: "operator", token: TOKENS.ops },
        { label: "boss", role: "admin", token: TOKENS.boss },
        { label: "grafana", role: "viewer", token: TOKENS.grafana },
      ],
    });
    open.push(proxy);
    return proxy;
  }

  const live = (proxy: Strangler) => proxy.rollouts.state.get("g")?.percent;
  const call = async (proxy: Strangler, token: string, path: string, reason = "why not") => {
    const res = await fetch(`${proxy.adminUrl}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ reason }) });
    return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string; required?: string }; awaitingSince?: string | null; approvedStep?: number | null } };
  };
  /** Clean traffic from distinct users, then the step's interval over: the evidence passes at the next tick. */
  async function stepEvidence(proxy: Strangler, clock: ManualClock, from: number): Promise<void> {
    for (let i = 0; i < 20; i++) await (await fetch(`${proxy.url}/g`, { headers: { "x-user-id": `u${from + i}` } })).text();
    await until(async () => proxy.shadows.inFlight, (x) => x === 0);
    await proxy.shadows.flush();
    clock.advance(61_000);
  }
  const audit = async (proxy: Strangler) =>
    (await adminJson<{ entries: Array<{ action: string; actor: string; reason: string; newValue: Record<string, unknown> }> }>(proxy.adminUrl, "/api/audit?route=g&limit=50", { token: TOKENS.grafana })).entries;

  /** Starts the promotion (10%) and brings it to the gate before 50%. */
  async function toTheGate(proxy: Strangler, clock: ManualClock): Promise<void> {
    expect((await call(proxy, TOKENS.ops, "/api/routes/g/promotion/start", "go")).status).toBe(200);
    expect(live(proxy)).toBe(10);
    await stepEvidence(proxy, clock, 0);
    await proxy.migrations.tick();
    expect(live(proxy)).toBe(10);
    expect(proxy.migrations.get("g")?.awaitingSince).not.toBeNull();
  }

  it("holds the promotion at a gated step until a person says yes in the cockpit; a step by hand is refused meanwhile, and every gate asks again", async () => {
    const clock = new ManualClock();
    const proxy = await proxyWith({ steps: [50, 100], approvers: "operator" }, clock);
    await toTheGate(proxy, clock);
    const waiting = await adminJson<{ lastVerdict: { promotion: { verdict: string; percent: number } }; awaitingSince: string }>(proxy.adminUrl, "/api/routes/g/migration", { token: TOKENS.grafana });
    expect(waiting.lastVerdict.promotion).toMatchObject({ verdict: "awaiting_approval", percent: 50 });
    expect(waiting.awaitingSince).toMatch(/^\d{4}-\d\d-\d\dT/);
    // The wait is told (audit, webhook), and time alone does not raise traffic.
    expect((await audit(proxy)).find((e) => e.action === "promotion_awaiting_approval")).toMatchObject({ actor: "promotion", newValue: { percent: 50, approvers: "operator" } });
    const told = await until(async () => asked.filter((a) => a.event === "promotion.awaiting_approval"), (x) => x.length >= 1);
    expect(told[0]).toMatchObject({ signed: true, body: { route: "g", sentence: expect.stringMatching(/^the promotion waits for a yes to go to 50%: evidence passed at 10%/) } });
    await stepEvidence(proxy, clock, 100);
    await proxy.migrations.tick();
    expect(live(proxy)).toBe(10);
    const byHand = await call(proxy, TOKENS.ops, "/api/routes/g/promotion/step", "skip the gate");
    expect(byHand).toMatchObject({ status: 409, body: { error: { code: "approval_required" } } });
    expect((await call(proxy, TOKENS.grafana, "/api/routes/g/promotion/approve")).status).toBe(403);

    browser ??= await launchChromium();
    const page = await browser.newPage({ httpCredentials: { username: "ops", password: TOKENS.ops } });
    // The overview puts it where someone must act.
    await page.goto(`${proxy.adminUrl}/dashboard`);
    await page.waitForSelector('tbody[data-group="approval"] tr[data-route="g"]');
    expect(await page.textContent('tr[data-route="g"] .waiting-approval')).toBe("waiting for approval to go to 50%");
    await page.goto(`${proxy.adminUrl}/dashboard#/route/g`);
    await page.waitForSelector("#approval");
    expect(await page.textContent("#approval")).toMatch(/^Waiting for approval to go to 50% since .+: a yes from an operator or an admin; without one the promotion pauses .+\.$/);
    expect(await page.$("#action-promotion-step")).toBeNull();
    await page.click("#action-promotion-approve");
    await page.fill("#action-reason", "looked at the diffs");
    await page.click("#action-confirm");
    await page.waitForSelector("#action-dialog", { state: "detached" });
    await page.close();
    const yes = (await audit(proxy)).find((e) => e.action === "promotion_approved");
    expect(yes).toMatchObject({ actor: "ops", reason: "looked at the diffs", newValue: { percent: 50, step: 1 } });
    // The yes is taken at the next evaluation, the evidence still passing.
    await proxy.migrations.tick();
    expect(live(proxy)).toBe(50);
    expect(proxy.migrations.get("g")).toMatchObject({ stepIndex: 1, awaitingSince: null });
    // 100% is gated too: a yes to 50% does not carry over.
    await stepEvidence(proxy, clock, 200);
    await proxy.migrations.tick();
    expect(live(proxy)).toBe(50);
    expect(proxy.migrations.get("g")?.awaitingSince).not.toBeNull();
  });

  it("goes on when the confirming webhook answers 2xx, and waits while it does not", async () => {
    const clock = new ManualClock();
    const proxy = await proxyWith({ steps: [50], confirmWebhook: "release-bot" }, clock);
    await toTheGate(proxy, clock);
    const question = (await until(async () => asked.filter((a) => a.event === "promotion.confirm"), (x) => x.length >= 1))[0] as Asked;
    expect(question).toMatchObject({ signed: true, body: { event: "promotion.confirm", route: "g", before: { percent: 10 }, after: { percent: 50, step: 1 } } });
    expect(String(question.body.sentence)).toMatch(/^promotion asks: may g go from 10% to 50%\?/);
    // A "no" (any status but 2xx) keeps it waiting, however often it is asked.
    await until(async () => asked.filter((a) => a.event === "promotion.confirm"), (x) => x.length >= 1);
    await proxy.migrations.tick();
    expect(live(proxy)).toBe(10);
    // The bot says yes at its next question (each evaluation asks, one question at a time).
    botAnswer = 200;
    const approved = await until(
      async () => {
        await proxy.migrations.tick();
        return proxy.migrations.read("g");
      },
      (r) => r?.approvedStep === 1,
    );
    expect(approved?.approvedStep).toBe(1);
    expect((await audit(proxy)).find((e) => e.action === "promotion_approved")).toMatchObject({ actor: "webhook:release-bot", reason: "webhook release-bot confirmed the step to 50%" });
    await proxy.migrations.tick();
    expect(live(proxy)).toBe(50);
    expect(asked.filter((a) => a.event === "promotion.confirm").every((a) => a.signed && a.body.id === question.body.id)).toBe(true);
  });

  it("rolls back by its guard while waiting, at once; the yes then has nothing to approve", async () => {
    const clock = new ManualClock();
    const proxy = await proxyWith({ steps: [50, 100] }, clock);
    await toTheGate(proxy, clock);
    targetMode = "error";
    // At 10%, one user in ten reaches the service: enough of them for the guard's 10 samples.
    for (let i = 0; i < 250; i++) await (await fetch(`${proxy.url}/g`, { headers: { "x-user-id": `e${i}` } })).text();
    await proxy.migrations.tick();
    expect(live(proxy)).toBe(0);
    expect(proxy.migrations.get("g")).toMatchObject({ state: "halted", promotion: "paused", awaitingSince: null });
    const late = await call(proxy, TOKENS.ops, "/api/routes/g/promotion/approve", "too late");
    expect(late).toMatchObject({ status: 409, body: { error: { code: "no_approval_pending" } } });
  });

  it("pauses the promotion where it is when no yes comes within the gate's timeout, whatever the evidence says by then", async () => {
    const clock = new ManualClock();
    const proxy = await proxyWith({ steps: [50], timeoutMs: 3_600_000 }, clock);
    await toTheGate(proxy, clock);
    // The service starts diverging while it waits: the evidence no longer passes, the wait still ends.
    targetMode = "diverge";
    await stepEvidence(proxy, clock, 500);
    clock.advance(3_600_000);
    await proxy.migrations.tick();
    expect(live(proxy)).toBe(10);
    expect(proxy.migrations.get("g")).toMatchObject({ state: "paused", promotion: "paused", awaitingSince: null });
    expect((await audit(proxy)).find((e) => e.action === "promotion_approval_expired")?.reason).toBe("no yes to the step to 50% within 60 min: the promotion is paused at 10%");
    expect((await call(proxy, TOKENS.ops, "/api/routes/g/promotion/approve")).body.error?.code).toBe("no_approval_pending");
  });

  it("acts on a yes at once on a node that judges on its timer, not an interval later", async () => {
    const clock = new ManualClock();
    const proxy = await proxyWith({ steps: [50] }, clock, true);
    await until(async () => (await adminJson<{ judge: string | null }>(proxy.adminUrl, "/api/fleet", { token: TOKENS.grafana })).judge, (j) => j !== null);
    await toTheGate(proxy, clock);
    expect((await call(proxy, TOKENS.ops, "/api/routes/g/promotion/approve", "go on")).status).toBe(200);
    expect(await until(async () => live(proxy), (p) => p === 50, 5_000)).toBe(50);
  });

  it("asks for the gate's approvers role: an operator may not say yes where admins must", async () => {
    const clock = new ManualClock();
    const proxy = await proxyWith({ steps: [50], approvers: "admin" }, clock);
    await toTheGate(proxy, clock);
    const refused = await call(proxy, TOKENS.ops, "/api/routes/g/promotion/approve");
    expect(refused).toMatchObject({ status: 403, body: { error: { code: "forbidden", required: "admin" } } });
    const yes = await call(proxy, TOKENS.boss, "/api/routes/g/promotion/approve", "signed off");
    expect(yes).toMatchObject({ status: 200, body: { approvedStep: 1 } });
  });
});
