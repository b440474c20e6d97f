import type { IncomingMessage, ServerResponse } from "node:http";
import process from "node:process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReplayReport } from "../../src/replay/replay-report.ts";
import type { StranglerConfigInput } from "../../src/config/schema.ts";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

interface RunView {
  id: number;
  status: "running" | "passed" | "failed" | "aborted";
  report: ReplayReport | null;
  recordingIds: number[];
  routeIds: string[];
}

/** A request a candidate received: what a replay sent. */
interface Received {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/**
 * An orders app, as the monolith or as a candidate: GET /orders/:id answers a made-up order for any id
 * (404 for missing-*), or the one POST /orders created; ids are `<prefix><n>`; every answer carries the
 * time it was made (`servedAt`), which differs between any two answers: noise.
 */
function ordersApp(prefix: string, options: { broken?: boolean; token?: string } = {}) {
  const received: Received[] = [];
  const created = new Map<string, { id: string; createdAt: string; total: number; owner: string }>();
  let next = 1;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      received.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body });
      res.setHeader("content-type", "application/json");
      if (options.token && req.headers["x-replay-token"] !== options.token) {
        res.statusCode = 401;
        return res.end(JSON.stringify({ error: "unauthenticated" }));
      }
      const servedAt = new Date().toISOString();
      if (req.method === "POST") {
        const order = { id: `${prefix}${next++}`, createdAt: new Date().toISOString(), total: (JSON.parse(body) as { total: number }).total, owner: "jane@example.com" };
        created.set(order.id, order);
        res.statusCode = 201;
        res.setHeader("location", `/orders/${order.id}`);
        return res.end(JSON.stringify(order));
      }
      const id = decodeURIComponent(req.url?.split("/")[2]?.split("?")[0] ?? "");
      if (id.startsWith("missing")) {
        res.statusCode = 404;
        return res.end(JSON.stringify({ error: "not found" }));
      }
      if (options.broken && id === "o_2") {
        res.statusCode = 500;
        return res.end(JSON.stringify({ error: "boom" }));
      }
      const order = created.get(id) ?? { id, total: 12.5, items: [{ sku: "a", qty: 1 }], owner: "jane@example.com" };
      res.end(JSON.stringify({ ...order, ...(options.broken ? { total: String(order.total) } : {}), servedAt }));
    });
  };
  return { handler, received };
}

/** Replay runs against real candidates: what is sent, how it is compared, paced and gated, and what a run reports. */
describe("replay of recordings against a candidate", () => {
  const temp = makeTempDir();
  const monolithApp = ordersApp("o_m");
  let monolith: Fixture;
  let proxy: Strangler;
  let configPath: string;
  let recordings: { detail: number; create: number };
  const admin = (path: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${proxy.adminUrl}${path}`, { method: init.method ?? "GET", ...(init.body !== undefined ? { headers: { "content-type": "application/json" }, body: JSON.stringify(init.body) } : {}) });
  const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T;
  const config = (over: { detailReplay?: object } = {}): StranglerConfigInput => ({
    backends: { legacy: { url: monolith.url }, orders: { url: "http://127.0.0.1:9" } },
    routes: [
      { id: "order-detail", match: { methods: ["GET"], path: "/orders/:id" }, target: "orders", rollout: { percent: 0 }, replay: { minExchanges: 20, requiredToLeaveLegacy: true, ...over.detailReplay } },
      { id: "order-create", match: { methods: ["POST"], path: "/orders" }, target: "orders", rollout: { percent: 0 }, replay: { minExchanges: 20 } },
    ],
    recording: { flushMs: 50 },
    // Every e-mail is redacted in a recording, so the candidate's must be too for the answers to compare equal.
    redaction: { fields: [] },
  });
  /** Starts a run and waits for its end. */
  const replay = async (body: Record<string, unknown>): Promise<RunView> => {
    const res = await admin(`/api/recordings/${recordings.detail}/replays`, { method: "POST", body: { with: [recordings.create], reason: "before the canary", ...body } });
    expect(res.status, await res.clone().text()).toBe(202);
    let run = (await res.json()) as RunView;
    while (run.status === "running") {
      await new Promise((r) => setTimeout(r, 50));
      run = await json<RunView>(admin(`/api/replays/${run.id}`));
    }
    return run;
  };

  beforeAll(async () => {
    monolith = await startFixture(monolithApp.handler);
    configPath = writeConfig(temp.dir, config());
    proxy = await startTestProxy(configPath);
    const start = async (route: string) => json<{ id: number }>(admin(`/api/routes/${route}/recordings`, { method: "POST", body: { rate: 1, max: 1_000, reason: "record orders" } }));
    recordings = { detail: (await start("order-detail")).id, create: (await start("order-create")).id };
    // 10 users each place an order and read it back, then read 8 more orders (one missing), in order.
    await Promise.all(
      Array.from({ length: 10 }, async (_, u) => {
        const headers = { "x-user-id": `user-${u}`, authorization: "Bearer user-secret", "content-type": "application/json" };
        const placed = await fetch(`${proxy.url}/orders`, { method: "POST", headers, body: JSON.stringify({ total: 10 + u }) });
        const { id } = (await placed.json()) as { id: string };
        await (await fetch(`${proxy.url}/orders/${id}`, { headers })).text();
        for (let i = 0; i < 8; i++) await (await fetch(`${proxy.url}/orders/${i === 7 ? `missing-${u}` : `o_${1 + ((u + i) % 5)}`}`, { headers })).text();
      }),
    );
    for (const id of Object.values(recordings)) expect((await admin(`/api/recordings/${id}/stop`, { method: "POST", body: { reason: "enough" } })).status).toBe(200);
  });
  afterAll(async () => {
    await proxy.close();
    await monolith.close();
    temp.remove();
  });

  it("refuses what it must not do, with a JSON error naming it", async () => {
    const candidate = await startFixture(ordersApp("o_c").handler);
    try {
      const ask = (body: Record<string, unknown>, id = recordings.detail) => admin(`/api/recordings/${id}/replays`, { method: "POST", body: { reason: "r", ...body } });
      const refusal = async (res: Promise<Response>) => {
        const r = await res;
        return { status: r.status, code: ((await r.json()) as { error: { code: string } }).error.code };
      };
      // Writes are never replayed against the monolith, by name or by URL.
      expect(await refusal(ask({ against: monolith.url, sandbox: true }))).toEqual({ status: 409, code: "not_a_sandbox" });
      expect(await refusal(ask({ against: "legacy", sandbox: true }))).toEqual({ status: 409, code: "not_a_sandbox" });
      expect(await refusal(ask({ against: "ftp://127.0.0.1/x" }))).toEqual({ status: 400, code: "invalid_input" });
      expect(await refusal(ask({ against: candidate.url, pacing: { mode: "rate", perSecond: 0 } }))).toEqual({ status: 400, code: "invalid_input" });
      expect(await refusal(ask({ against: candidate.url }, 999))).toEqual({ status: 404, code: "unknown_recording" });
      expect(await refusal(ask({ against: candidate.url, with: [999] }))).toEqual({ status: 404, code: "unknown_recording" });
      expect((await admin("/api/replays/999")).status).toBe(404);
      const active = await json<{ id: number }>(admin("/api/routes/order-detail/recordings", { method: "POST", body: { rate: 0.1, reason: "again" } }));
      expect(await refusal(ask({ against: candidate.url }, active.id))).toEqual({ status: 409, code: "still_recording" });
      await admin(`/api/recordings/${active.id}`, { method: "DELETE", body: { reason: "not needed" } });
      expect(candidate.openConnections()).toBe(0);
    } finally {
      await candidate.close();
    }
  });

  it("a dry run says what a run would send, how long and how it authenticates, and sends nothing", async () => {
    const candidate = ordersApp("o_c");
    const server = await startFixture(candidate.handler);
    try {
      const reads = await json<{ requests: number; reads: number; writes: { sent: number; skipped: number; why: string }; sessions: number; estimatedSeconds: number; authentication: Record<string, string> }>(
        admin(`/api/recordings/${recordings.detail}/replays`, { method: "POST", body: { with: [recordings.create], against: server.url, pacing: { mode: "rate", perSecond: 10 }, dryRun: true, reason: "plan" } }),
      );
      expect(reads).toMatchObject({ requests: 90, reads: 90, writes: { sent: 0, skipped: 10 }, sessions: 10, estimatedSeconds: 9 });
      expect(reads.writes.why).toContain("sandbox");
      expect(reads.authentication["order-detail"]).toMatch(/^none/);
      const sandbox = await json<{ requests: number; writes: { sent: number; skipped: number } }>(
        admin(`/api/recordings/${recordings.detail}/replays`, { method: "POST", body: { with: [recordings.create], against: server.url, sandbox: true, dryRun: true, reason: "plan" } }),
      );
      expect(sandbox).toMatchObject({ requests: 100, writes: { sent: 10, skipped: 0 } });
      expect(candidate.received).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it("passes a healthy candidate in a sandbox: writes marked and idempotent, their ids mapped into the session's reads, the monolith's own noise set aside; twice, the same verdicts", async () => {
    const candidate = ordersApp("o_c");
    const server = await startFixture(candidate.handler);
    try {
      // Before a passing run the route may not leave legacy.
      const gated = await admin("/api/routes/order-detail/rollout", { method: "PUT", body: { percent: 10, reason: "canary" } });
      expect(gated.status).toBe(409);
      expect(((await gated.json()) as { error: { code: string } }).error.code).toBe("replay_required");

      const first = await replay({ against: server.url, sandbox: true, freshMonolith: true, pacing: { mode: "concurrency", limit: 8 } });
      const report = first.report as ReplayReport;
      expect(report.status, report.verdict).toBe("passed");
      expect(report.counts).toMatchObject({ exchanges: 100, sent: 100, matched: 100, diverged: 0, authFailures: 0, timeouts: 0, errors: 0, skippedWrites: 0, flaky: 0 });
      expect(report.passRate).toBe(1);
      expect(report.passRateLowerBound).toBeGreaterThan(0.95);
      // The monolith's recorded and fresh answers differ in servedAt: noise for this run.
      expect(report.runNoise).toContain("$.servedAt");
      // Each write carried the marker and its own Idempotency-Key; the credential never reached the candidate.
      const posts = candidate.received.filter((r) => r.method === "POST");
      expect(posts).toHaveLength(10);
      for (const post of posts) {
        expect(post.headers["x-strangler-replay"]).toMatch(new RegExp(`^${first.id}/\\d+$`));
        expect(post.headers["idempotency-key"]).toMatch(new RegExp(`^strangler-replay-${first.id}-\\d+$`));
      }
      expect(new Set(posts.map((p) => p.headers["idempotency-key"])).size).toBe(10);
      expect(candidate.received.some((r) => JSON.stringify(r.headers).includes("user-secret"))).toBe(false);
      // The read of each new order asked for the candidate's id, not the monolith's; and the ids (and createdAt) counted as correlated.
      const createdReads = candidate.received.filter((r) => r.method === "GET" && r.path.startsWith("/orders/o_c"));
      expect(createdReads).toHaveLength(10);
      expect(candidate.received.some((r) => r.path.startsWith("/orders/o_m"))).toBe(false);
      expect(report.counts.correlatedFields).toBeGreaterThanOrEqual(10 * 2 * 2);
      // Sessions kept their order: each read of a new order came after the write that made it (the k-th POST made o_c<k>).
      for (const read of createdReads) {
        const k = Number((read.path.split("/")[2] as string).slice("o_c".length));
        expect(candidate.received.indexOf(posts[k - 1] as Received)).toBeLessThan(candidate.received.indexOf(read));
      }

      const second = await replay({ against: server.url, sandbox: true, freshMonolith: true, pacing: { mode: "concurrency", limit: 8 } });
      expect((second.report as ReplayReport).status).toBe("passed");
      expect((second.report as ReplayReport).counts).toEqual({ ...report.counts, noiseDifferences: (second.report as ReplayReport).counts.noiseDifferences });
      expect((second.report as ReplayReport).flaky).toEqual([]);

      // A passing run opens the gate, and the run is on both routes' timelines.
      expect((await admin("/api/routes/order-detail/rollout", { method: "PUT", body: { percent: 10, reason: "canary" } })).status).toBe(200);
      const audit = await json<{ entries: Array<{ action: string; routeId: string; newValue: { run: number; status: string } }> }>(admin("/api/audit?limit=50"));
      const runs = audit.entries.filter((e) => e.action === "replay_run" && e.newValue.run === first.id);
      expect(runs.map((e) => e.routeId).sort()).toEqual(["order-create", "order-detail"]);
      expect(runs[0]?.newValue.status).toBe("passed");
      await admin("/api/routes/order-detail/rollout", { method: "PUT", body: { percent: 0, reason: "back" } });
    } finally {
      await server.close();
    }
  });

  it("fails a broken candidate and reports each planted difference once, with an example; without fresh answers the monolith's noise shows too", async () => {
    const candidate = ordersApp("o_b", { broken: true });
    const server = await startFixture(candidate.handler);
    try {
      const run = await replay({ against: server.url, sandbox: true, pacing: { mode: "concurrency", limit: 8 } });
      const report = run.report as ReplayReport;
      expect(run.status).toBe("failed");
      expect(report.status).toBe("failed");
      const signatures = Object.fromEntries(report.signatures.map((s) => [`${s.kind} ${s.path}`, s]));
      // The total as a string, on every read of an order (80, less the 14 of o_2); the 500 on o_2.
      expect(signatures["type_changed $.total"]?.count).toBe(66);
      expect(signatures["status "]?.count).toBe(14);
      expect(signatures["status "]?.diff).toEqual(["HTTP status: 200 → 500"]);
      expect(signatures["type_changed $.total"]?.example.candidateBody).toMatch(/"total":"[\d.]+"/);
      // No fresh answers: the time each answer was made differs too.
      expect(signatures["changed $.servedAt"]).toBeDefined();
      // The recording was redacted, and the candidate's answer the same way.
      expect(JSON.stringify(report)).not.toContain("jane@example.com");
      expect(report.passRateLowerBound).toBeLessThan(0.5);
    } finally {
      await server.close();
    }
  });

  it("stops as 'authentication misconfigured' when a candidate refuses the first requests, and passes with the route's replay.auth", async () => {
    const candidate = ordersApp("o_a", { token: "t0ken-for-replay" });
    const server = await startFixture(candidate.handler);
    try {
      const refused = await replay({ against: server.url, sandbox: true, pacing: { mode: "concurrency", limit: 2 } });
      expect(refused.status).toBe("aborted");
      expect((refused.report as ReplayReport).verdict).toMatch(/^authentication misconfigured: \d+ of the first \d+ requests/);
      // It stopped early: far fewer than the 100 exchanges were sent.
      expect(candidate.received.length).toBeLessThan(40);

      process.env.STRANGLER_TEST_REPLAY_TOKEN = "t0ken-for-replay";
      const auth = { auth: { header: "x-replay-token", env: "STRANGLER_TEST_REPLAY_TOKEN" } };
      writeConfig(temp.dir, { ...config({ detailReplay: auth }), routes: config({ detailReplay: auth }).routes?.map((r) => ({ ...r, replay: { ...r.replay, ...auth } })) });
      expect((await proxy.reload()).applied).toBe(true);
      const passed = await replay({ against: server.url, sandbox: true, freshMonolith: true, pacing: { mode: "concurrency", limit: 8 } });
      expect((passed.report as ReplayReport).status, (passed.report as ReplayReport).verdict).toBe("passed");
      delete process.env.STRANGLER_TEST_REPLAY_TOKEN;
      const unset = await admin(`/api/recordings/${recordings.detail}/replays`, { method: "POST", body: { against: server.url, reason: "r" } });
      expect(unset.status).toBe(409);
      expect(((await unset.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "replay_auth_unset" });
    } finally {
      writeConfig(temp.dir, config());
      await proxy.reload();
      await server.close();
    }
  });

  it("keeps a fixed rate: never above its target, and near it", async () => {
    const candidate = ordersApp("o_r");
    const server = await startFixture(candidate.handler);
    try {
      const run = await replay({ against: server.url, pacing: { mode: "rate", perSecond: 40 } });
      const report = run.report as ReplayReport;
      expect(report.counts.sent).toBe(90);
      const [window] = report.pacing.windows;
      expect(window?.sent).toBe(90);
      // 90 requests due 25 ms apart: the last one at 2.225 s. Never faster than asked (a candidate is not
      // overrun); the window's rate runs to the run's end, past the last answer, so a loaded machine's late
      // timers and slow answers lower it: the lower bound is a wide, functional one (CI once read 37.97).
      expect(window?.perSecond).toBeLessThan(40 * 1.05);
      expect(window?.perSecond).toBeGreaterThan(40 * 0.8);
      // Every run of the recording is listed, newest first; `limit` keeps the page short.
      const all = await json<{ runs: RunView[] }>(admin(`/api/recordings/${recordings.detail}/replays`));
      expect(all.runs[0]?.id).toBe(run.id);
      expect(all.runs.length).toBeGreaterThan(3);
      expect((await json<{ runs: RunView[] }>(admin(`/api/recordings/${recordings.detail}/replays?limit=1`))).runs.map((r) => r.id)).toEqual([run.id]);
      expect((await admin(`/api/recordings/${recordings.detail}/replays?limit=0`)).status).toBe(400);
    } finally {
      await server.close();
    }
  });
});
