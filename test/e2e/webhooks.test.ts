import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { freePort } from "../../scripts/free-port.ts";
import { adminJson } from "../helpers/admin.ts";
import { runProcess } from "../helpers/child-proxy.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/wait.ts";

const SECRET = "webhook-secret-0123456789";

/** Deliveries come about once a second, retries a pass or two later: a loaded machine gets a wide margin. */
const soon = <T>(read: () => Promise<T>, done: (value: T) => boolean) => until(read, done, 30_000, 50);

/** A request a receiver got: its headers, its exact body, and what it answered. */
interface Received {
  readonly headers: IncomingMessage["headers"];
  readonly raw: string;
  readonly body: Record<string, unknown>;
  readonly answered: number;
}

/** A webhook receiver, as a team would run one: it checks nothing itself, it records; `failNext` answers 503 to that many requests. */
async function startReceiver() {
  const received: Received[] = [];
  const control = { failNext: 0 };
  const fixture = await startFixture((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const answered = control.failNext > 0 ? 503 : 200;
      if (control.failNext > 0) control.failNext--;
      received.push({ headers: req.headers, raw, body: JSON.parse(raw) as Record<string, unknown>, answered });
      res.writeHead(answered, { "content-type": "text/plain" }).end(answered === 200 ? "thanks" : "try later");
    });
  });
  return { fixture, received, control };
}

/** What a receiver does with the signature: HMAC-SHA256 of the exact body with the shared secret, compared in constant time. */
function signedBy(secret: string, r: Received): boolean {
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(r.raw).digest("hex")}`);
  const given = Buffer.from(String(r.headers["x-strangler-signature"] ?? ""));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe("webhooks on migration events, against real receivers", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let target: Fixture;
  let sink: Awaited<ReturnType<typeof startReceiver>>;
  let slack: Awaited<ReturnType<typeof startReceiver>>;
  let proxy: Strangler;
  let targetMode: "ok" | "error" = "ok";
  const dataDir = `${temp.dir}/data`;
  let configPath: string;
  const start = () => startTestProxy(configPath, { dataDir, adminTokens: [{ label: "ops", token: "ops-token-0123456789" }] });
  const token = "ops-token-0123456789";

  beforeAll(async () => {
    legacy = await startFixture((req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ price: 10 })));
    target = await startFixture((req, res) => {
      if (targetMode === "error") return void res.writeHead(500).end("boom");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ price: 11 }));
    });
    sink = await startReceiver();
    slack = await startReceiver();
    const closed = await freePort();
    configPath = writeConfig(temp.dir, {
      backends: { legacy: { url: legacy.url }, target: { url: target.url } },
      // The guards are judged by the test (tick()); the judge's lease still makes this node the one that delivers.
      guards: { intervalMs: 60_000 },
      shadowing: { announceDivergenceAt: 3 },
      webhooks: [
        { name: "audit-sink", url: `${sink.fixture.url}/hooks/strangler`, secret: SECRET, retryBackoffMs: 100, maxRetryBackoffMs: 200 },
        { name: "team-slack", url: `${slack.fixture.url}/services/T000/B000/XXXX`, format: "slack", events: ["guard.tripped", "percentage.set"], routes: ["products"] },
        // Nobody listens there: every attempt is refused.
        { name: "gone", url: `http://127.0.0.1:${closed}/hook`, secret: SECRET, events: ["percentage.set"], maxAttempts: 2, retryBackoffMs: 50, maxRetryBackoffMs: 50 },
      ],
      routes: [
        { id: "products", match: { methods: ["GET"], path: "/products" }, target: "target", rollout: { percent: 0 }, guard: { windowMs: 60_000, minSamples: 10, maxErrorRate: 0.2 } },
        { id: "orders", match: { methods: ["GET"], path: "/orders" }, target: "target", rollout: { percent: 0 }, shadow: { percent: 100, noise: { learn: false } } },
      ],
    });
    proxy = await start();
  });
  afterAll(async () => {
    await proxy?.close();
    await Promise.all([legacy?.close(), target?.close(), sink?.fixture.close(), slack?.fixture.close()]);
    temp.remove();
  });

  const set = (route: string, percent: number, reason: string) => adminJson(proxy.adminUrl, `/api/routes/${route}/rollout`, { method: "PUT", token, json: { percent, reason } });
  const eventsAt = (r: Awaited<ReturnType<typeof startReceiver>>, event: string) => r.received.filter((x) => x.body.event === event);
  const hooks = async () => (await adminJson<{ webhooks: Array<{ name: string; status: string; backlog: number; url: string; delivery: Record<string, unknown> | null }> }>(proxy.adminUrl, "/api/webhooks", { token })).webhooks;

  it("POSTs a percentage set by a person, signed, with its id, the cockpit's sentence and the evidence; Slack gets one line", async () => {
    await set("products", 10, "first cohort");
    const got = await soon(async () => eventsAt(sink, "percentage.set"), (x) => x.length >= 1);
    const event = got[0] as Received;
    expect(event.answered).toBe(200);
    expect(signedBy(SECRET, event)).toBe(true);
    expect(signedBy("another-secret-0123456789", event)).toBe(false);
    expect(event.headers).toMatchObject({ "content-type": "application/json", "x-strangler-event": "percentage.set", "x-strangler-attempt": "1" });
    expect(event.headers["x-strangler-delivery"]).toBe(event.body.id);
    expect(event.body).toMatchObject({ event: "percentage.set", route: "products", actor: "ops", reason: "first cohort", sentence: "ops set the rollout from 0% to 10%: first cohort", after: { percent: 10 } });
    expect(event.body.id).toMatch(/^audit-\d+$/);
    const line = (await soon(async () => eventsAt(slack, "percentage.set"), (x) => x.length >= 1))[0] as Received;
    expect(line.body.text).toBe(":arrows_counterclockwise: strangler-fig · *products*: ops set the rollout from 0% to 10%: first cohort");
    // No secret: no signature, and the URL's secret path is never shown.
    expect(line.headers["x-strangler-signature"]).toBeUndefined();
    expect((await hooks()).find((h) => h.name === "team-slack")?.url).toBe(`${slack.fixture.url}/…`);
  });

  it("retries a receiver that fails, with the same id, until it takes the event; the next ones follow in order", async () => {
    sink.control.failNext = 2;
    const before = sink.received.length;
    await set("products", 20, "second cohort");
    await set("products", 25, "third cohort");
    const got = await soon(async () => sink.received.slice(before), (x) => x.filter((r) => r.answered === 200).length >= 2);
    const attempts = got.map((r) => [r.body.id, r.headers["x-strangler-attempt"], r.answered, r.body.reason]);
    const [first, second] = [got[0]?.body.id, got.at(-1)?.body.id];
    expect(attempts).toEqual([
      [first, "1", 503, "second cohort"],
      [first, "2", 503, "second cohort"],
      [first, "3", 200, "second cohort"],
      [second, "1", 200, "third cohort"],
    ]);
    const hook = (await soon(hooks, (h) => h.find((x) => x.name === "audit-sink")?.delivery?.attempts === 0)).find((h) => h.name === "audit-sink");
    expect(hook).toMatchObject({ status: "ok", delivery: { failed: 0, lastStatus: 200, lastError: null } });
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/strangler_webhook_deliveries_total\{webhook="audit-sink",outcome="failed"\} 2/);
  });

  it("gives an event up after maxAttempts on a receiver that is gone, says why, and goes on", async () => {
    const hook = (await soon(hooks, (h) => Number(h.find((x) => x.name === "gone")?.delivery?.failed ?? 0) >= 3)).find((h) => h.name === "gone");
    expect(hook?.delivery).toMatchObject({ delivered: 0, lastStatus: null, lastError: "ECONNREFUSED" });
    expect(Number(hook?.delivery?.failed)).toBeGreaterThanOrEqual(3);
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/strangler_webhook_deliveries_total\{webhook="gone",outcome="given_up"\} [3-9]/);
  });

  it("tells a guard's trip with its evidence, to the sink and to Slack", async () => {
    targetMode = "error";
    try {
      for (let i = 0; i < 60; i++) await fetch(`${proxy.url}/products`, { headers: { "x-user-id": `u${i}` } }).then((r) => r.arrayBuffer());
      await proxy.evidence.flush();
      await proxy.migrations.tick();
      expect(proxy.migrations.get("products")?.state).toBe("halted");
    } finally {
      targetMode = "ok";
    }
    const trip = (await soon(async () => eventsAt(sink, "guard.tripped"), (x) => x.length >= 1))[0] as Received;
    expect(trip.body).toMatchObject({ route: "products", actor: "guard", after: { state: "halted", percent: 0, evidence: { target: { requests: expect.any(Number) } } } });
    expect(String(trip.body.sentence)).toMatch(/^guard rolled back to 0% and halted the route: error rate [\d.]+% > 20% over \d+ requests/);
    const line = (await soon(async () => eventsAt(slack, "guard.tripped"), (x) => x.length >= 1))[0] as Received;
    expect(String(line.body.text)).toMatch(/^:rotating_light: strangler-fig · \*products\*: guard rolled back to 0%/);
    // The guard's own move of the percentage is not told twice.
    expect(sink.received.filter((r) => r.body.actor === "guard").map((r) => r.body.event)).toEqual(["guard.tripped"]);
    await adminJson(proxy.adminUrl, "/api/routes/products/resume", { method: "POST", token, json: { reason: "fixed" } });
    expect((await soon(async () => eventsAt(sink, "route.resumed"), (x) => x.length >= 1))[0]?.body.sentence).toBe("ops lifted the halted state: the route follows its percentage again: fixed");
  });

  it("tells a recurring divergence once, and a recording that filled up", async () => {
    for (let i = 0; i < 8; i++) await fetch(`${proxy.url}/orders`).then((r) => r.arrayBuffer());
    await until(async () => proxy.shadows.inFlight, (n) => n === 0);
    await proxy.shadows.flush();
    const found = (await soon(async () => eventsAt(sink, "divergence.new"), (x) => x.length >= 1))[0] as Received;
    expect(found.body).toMatchObject({ route: "orders", actor: "shadow", after: { path: "$.price", kind: "changed", count: expect.any(Number) } });
    expect(found.body.sentence).toMatch(/^shadow comparison found a recurring divergence: changed \$\.price \(\d+ times so far\)$/);
    for (let i = 0; i < 8; i++) await fetch(`${proxy.url}/orders`).then((r) => r.arrayBuffer());
    await proxy.shadows.flush();
    await adminJson(proxy.adminUrl, "/api/routes/orders/recordings", { method: "POST", token, json: { rate: 1, max: 2, reason: "two are enough" } });
    for (let i = 0; i < 4; i++) await fetch(`${proxy.url}/orders`).then((r) => r.arrayBuffer());
    const finished = (await soon(async () => eventsAt(sink, "recording.finished"), (x) => x.length >= 1))[0] as Received;
    expect(finished.body).toMatchObject({ route: "orders", actor: "recorder", after: { stopReason: "full", exchanges: 2 } });
    expect(eventsAt(sink, "divergence.new")).toHaveLength(1);
  });

  it("sends a test event on request, signed, and says what the receiver answered", async () => {
    const result = await adminJson<{ ok: boolean; status: number; id: string }>(proxy.adminUrl, "/api/webhooks/audit-sink/test", { method: "POST", token, json: {} });
    expect(result).toMatchObject({ ok: true, status: 200 });
    const ping = sink.received.find((r) => r.body.id === result.id) as Received;
    expect(ping.body).toMatchObject({ event: "ping", actor: "ops" });
    expect(signedBy(SECRET, ping)).toBe(true);
    const gone = await adminJson<{ ok: boolean; error: string }>(proxy.adminUrl, "/api/webhooks/gone/test", { method: "POST", token, json: {} });
    expect(gone).toMatchObject({ ok: false, error: "ECONNREFUSED" });
    const missing = await fetch(`${proxy.adminUrl}/api/webhooks/nope`, { headers: { authorization: `Bearer ${token}` } });
    expect(missing.status).toBe(404);
  });

  it("shows each webhook's deliveries in the cockpit and the CLI, the one given up on marked", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ httpCredentials: { username: "ops", password: token } });
      await page.goto(`${proxy.adminUrl}/dashboard`);
      await page.click("#webhooks summary");
      await page.waitForSelector('#webhooks tr[data-webhook="gone"]');
      expect(await page.textContent("#webhooks-troubled")).toContain("gone");
      const row = await page.$$eval('#webhooks tr[data-webhook="audit-sink"] td', (cells) => cells.map((c) => c.textContent));
      expect(row.slice(0, 3)).toEqual(["audit-sink", `${sink.fixture.url}/… (json, signed)`, "ok"]);
      expect(await page.textContent('#webhooks tr[data-webhook="gone"] td:nth-child(7)')).toMatch(/^no answer: ECONNREFUSED, /);
    } finally {
      await browser.close();
    }
    const env = { ...(process.env as Record<string, string>), STRANGLER_ADMIN_URL: proxy.adminUrl, STRANGLER_ADMIN_TOKEN: token };
    const listed = await runProcess(process.execPath, ["bin/strangler.js", "webhooks"], env);
    expect(listed.code).toBe(0);
    const [header, , ...rows] = listed.stdout.trim().split("\n");
    expect(header).toMatch(/^NAME\s+URL\s+STATUS\s+BACKLOG\s+DELIVERED\s+FAILED\s+LAST$/);
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(["audit-sink", "team-slack", "gone"]);
    expect(rows[2]).toMatch(/ECONNREFUSED/);
    const test = await runProcess(process.execPath, ["bin/strangler.js", "webhooks", "test", "gone"], env);
    expect(test.code).toBe(1);
    expect(test.stdout + test.stderr).toMatch(/gone: not delivered: ECONNREFUSED/);
  });

  it("keeps its place across a restart: an event still being retried is delivered after it, with the same id, and none twice", async () => {
    sink.control.failNext = 1_000;
    const before = sink.received.length;
    await set("products", 5, "before the restart");
    await soon(async () => sink.received.slice(before), (x) => x.length >= 1);
    await proxy.close();
    sink.control.failNext = 0;
    proxy = await start();
    const delivered = await soon(async () => sink.received.slice(before).filter((r) => r.answered === 200), (x) => x.length >= 1);
    expect(delivered[0]?.body).toMatchObject({ event: "percentage.set", reason: "before the restart" });
    // Over the whole test: an id delivered (2xx) once only, and sent again only after an attempt that failed.
    const byId = new Map<string, Received[]>();
    for (const r of sink.received) byId.set(String(r.body.id), [...(byId.get(String(r.body.id)) ?? []), r]);
    for (const [id, sends] of byId) {
      expect(sends.filter((s) => s.answered === 200).length, id).toBe(1);
      expect(sends.slice(0, -1).every((s) => s.answered !== 200), id).toBe(true);
    }
  });
});
