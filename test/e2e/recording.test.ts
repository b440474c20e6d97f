import type { IncomingMessage, ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

interface Recording {
  id: number;
  routeId: string;
  stoppedAt: number | null;
  stopReason: string | null;
  exchanges: number;
  truncated: number;
  dropped: number;
}
interface Exchange {
  id: number;
  session: string;
  stratum: string;
  method: string;
  path: string;
  query: string;
  requestHeaders: Record<string, string>;
  requestBody: string;
  status: number;
  responseHeaders: Record<string, string>;
  responseBody: string;
  responseTruncated: boolean;
  latencyMs: number;
}

/** Recording a route's exchanges with the monolith, through the admin API, against real servers. */
describe("recording for replay", () => {
  const temp = makeTempDir();
  let monolith: Fixture;
  let service: Fixture;
  let proxy: Strangler;
  const admin = (path: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${proxy.adminUrl}${path}`, { method: init.method ?? "GET", ...(init.body !== undefined ? { headers: { "content-type": "application/json" }, body: JSON.stringify(init.body) } : {}) });
  const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T;

  beforeAll(async () => {
    monolith = await startFixture((req: IncomingMessage, res: ServerResponse) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        res.setHeader("set-cookie", "monolith_session=s3cr3t-cookie; HttpOnly");
        if (req.method === "POST") {
          res.statusCode = 201;
          return res.end(JSON.stringify({ id: "o_new", received: JSON.parse(body || "{}") }));
        }
        const id = req.url?.split("/")[2]?.split("?")[0] ?? "";
        if (id.startsWith("missing")) {
          res.statusCode = 404;
          return res.end(JSON.stringify({ error: "not found" }));
        }
        if (id === "big") return res.end(JSON.stringify({ id, blob: "x".repeat(10_000) }));
        res.end(JSON.stringify({ id, total: 12.5, owner: "jane@example.com" }));
      });
    });
    service = await startFixture((_req, res) => res.end("{}"));
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: monolith.url }, orders: { url: service.url } },
        routes: [
          { id: "order-detail", match: { methods: ["GET"], path: "/orders/:id" }, target: "orders", rollout: { percent: 0 } },
          { id: "order-create", match: { methods: ["POST"], path: "/orders" }, target: "orders", rollout: { percent: 0 } },
        ],
        recording: { maxBodyBytes: 4_096, flushMs: 50 },
      }),
    );
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([monolith.close(), service.close()]);
    temp.remove();
  });

  it("keeps a share of a route's exchanges, every rare answer first, redacted, and the clients notice nothing", async () => {
    const started = await admin("/api/routes/order-detail/recordings", { method: "POST", body: { rate: 0.1, max: 1_000, reason: "before the canary" } });
    expect(started.status).toBe(201);
    const recording = (await started.json()) as Recording;
    expect(recording).toMatchObject({ routeId: "order-detail", stoppedAt: null, exchanges: 0 });
    expect((await admin("/api/routes/order-detail/recordings", { method: "POST", body: { rate: 0.5, reason: "again" } })).status).toBe(409);

    // 2,000 reads from 40 users: 10 of them (0.5%) answered 404, one answer past the body bound.
    const paths = Array.from({ length: 2_000 }, (_, i) => (i % 200 === 7 ? `/orders/missing-${i}` : i === 500 ? "/orders/big" : `/orders/o_${i}?view=full&api_key=k-${i}`));
    for (let i = 0; i < paths.length; i += 50) {
      await Promise.all(
        paths.slice(i, i + 50).map(async (path, j) => {
          const res = await fetch(`${proxy.url}${path}`, { headers: { "x-user-id": `user-${(i + j) % 40}`, authorization: "Bearer client-secret-token" } });
          const body = await res.text();
          // The client's answer is the monolith's, whole.
          expect(res.status).toBe(path.includes("missing") ? 404 : 200);
          if (path === "/orders/big") expect(body.length).toBeGreaterThan(10_000);
        }),
      );
    }
    const after = await json<Recording>(admin(`/api/recordings/${recording.id}`));
    // Every 404 kept (their stratum is under its 2% quota); the 200s: the first 20, then the users the rate drew, whole.
    const exchanges: Exchange[] = [];
    for (let page = await json<{ exchanges: Exchange[]; nextAfter: number | null }>(admin(`/api/recordings/${recording.id}/exchanges?limit=1000`)); ; ) {
      exchanges.push(...page.exchanges);
      if (page.nextAfter === null) break;
      page = await json(admin(`/api/recordings/${recording.id}/exchanges?limit=1000&after=${page.nextAfter}`));
    }
    expect(exchanges).toHaveLength(after.exchanges);
    expect(exchanges.filter((e) => e.status === 404)).toHaveLength(10);
    const ok = exchanges.filter((e) => e.status === 200);
    const perUser = new Map<string, number>();
    for (const e of ok) perUser.set(e.session, (perUser.get(e.session) ?? 0) + 1);
    // A drawn user's reads are all kept (40 or 50 of them: user 7 had the 404s); the others' only among the stratum's first 20.
    const whole = [...perUser.values()].filter((n) => n >= 40);
    const partial = [...perUser.values()].filter((n) => n < 40);
    expect(whole.length).toBeGreaterThan(0);
    expect(whole.length).toBeLessThan(15);
    expect(partial.reduce((sum, n) => sum + n, 0)).toBeLessThanOrEqual(20);
    expect(after.dropped).toBe(0);
    expect(new Set(exchanges.map((e) => e.stratum))).toEqual(new Set(["GET 2xx application/json object", "GET 4xx application/json object"]));

    // Redacted before it was queued: the credential, the API key in the query, the cookie, the e-mail.
    const stored = JSON.stringify(exchanges);
    for (const secret of ["client-secret-token", "s3cr3t-cookie", "jane@example.com", "k-1"]) expect(stored).not.toContain(secret);
    const one = exchanges.find((e) => e.status === 200 && e.path !== "/orders/big") as Exchange;
    expect(one.requestHeaders.authorization).toBe("[redacted]");
    expect(one.responseHeaders["set-cookie"]).toBe("[redacted]");
    expect(one.query).toMatch(/^view=full&api_key=%5Bredacted%5D$/);
    expect(JSON.parse(one.responseBody)).toMatchObject({ total: 12.5, owner: "[redacted email]" });
    expect(one.latencyMs).toBeGreaterThan(0);
    // The session is a keyed pseudonym of the sticky key: one per user, never the user id.
    expect(stored).not.toContain("user-1");
    const sessions = new Set(exchanges.map((e) => e.session));
    expect([...sessions].every((s) => /^psn_[\w-]{22}$/.test(s))).toBe(true);
    expect(sessions.size).toBeLessThanOrEqual(40);

    // Stopped: nothing more is recorded.
    const stopped = await json<Recording>(admin(`/api/recordings/${recording.id}/stop`, { method: "POST", body: { reason: "enough" } }));
    expect(stopped).toMatchObject({ stopReason: "stopped", exchanges: after.exchanges });
    await Promise.all(Array.from({ length: 50 }, (_, i) => fetch(`${proxy.url}/orders/missing-late-${i}`).then((r) => r.arrayBuffer())));
    expect((await json<Recording>(admin(`/api/recordings/${recording.id}`))).exchanges).toBe(after.exchanges);
    expect((await admin(`/api/recordings/${recording.id}/stop`, { method: "POST", body: { reason: "twice" } })).status).toBe(409);
  });

  it("a body past recording.maxBodyBytes is kept as truncated, counted, and the client still gets it whole", async () => {
    const recording = await json<Recording>(admin("/api/routes/order-detail/recordings", { method: "POST", body: { rate: 1, max: 10, reason: "truncation" } }));
    const res = await fetch(`${proxy.url}/orders/big`);
    expect((await res.text()).length).toBeGreaterThan(10_000);
    const { exchanges } = await json<{ exchanges: Exchange[] }>(admin(`/api/recordings/${recording.id}/exchanges`));
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]).toMatchObject({ responseTruncated: true });
    expect((exchanges[0] as Exchange).responseBody.length).toBeLessThanOrEqual(4_096 + 20);
    expect(await json<Recording>(admin(`/api/recordings/${recording.id}`))).toMatchObject({ exchanges: 1, truncated: 1 });
    await admin(`/api/recordings/${recording.id}/stop`, { method: "POST", body: { reason: "done" } });
  });

  it("stops by itself when full, keeps write bodies redacted, exports JSON Lines and HAR, and deletes", async () => {
    const recording = await json<Recording>(admin("/api/routes/order-create/recordings", { method: "POST", body: { rate: 1, max: 5, reason: "writes" } }));
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${proxy.url}/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ items: [i], password: "hunter2", card: "4111 1111 1111 1111" }) });
      expect(res.status).toBe(201);
      await res.arrayBuffer();
    }
    let state = await json<Recording>(admin(`/api/recordings/${recording.id}`));
    for (let i = 0; i < 50 && state.stoppedAt === null; i++) {
      await new Promise((r) => setTimeout(r, 50));
      state = await json<Recording>(admin(`/api/recordings/${recording.id}`));
    }
    expect(state).toMatchObject({ exchanges: 5, stopReason: "full" });

    const jsonl = (await (await admin(`/api/recordings/${recording.id}/export`)).text()).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(jsonl[0]).toMatchObject({ recording: { id: recording.id, routeId: "order-create" } });
    const lines = jsonl.slice(1) as unknown as Exchange[];
    expect(lines).toHaveLength(5);
    expect(JSON.parse((lines[0] as Exchange).requestBody)).toEqual({ items: [0], password: "[redacted]", card: "[redacted card]" });
    expect((lines[0] as Exchange).status).toBe(201);

    const har = await json<{ log: { version: string; entries: Array<{ request: { method: string; url: string; postData?: { text: string } }; response: { status: number; content: { text: string } } }> } }>(admin(`/api/recordings/${recording.id}/export?format=har`));
    expect(har.log.version).toBe("1.2");
    expect(har.log.entries).toHaveLength(5);
    expect(har.log.entries[0]).toMatchObject({ request: { method: "POST", url: "http://monolith/orders" }, response: { status: 201 } });
    expect(har.log.entries[0]?.request.postData?.text).toContain("[redacted]");

    const audit = await json<{ entries: Array<{ action: string; routeId: string }> }>(admin("/api/audit?route=order-create"));
    expect(audit.entries.map((e) => e.action)).toContain("recording_started");

    expect((await json<{ deleted: number }>(admin(`/api/recordings/${recording.id}`, { method: "DELETE", body: { reason: "fixture kept elsewhere" } }))).deleted).toBe(recording.id);
    expect((await admin(`/api/recordings/${recording.id}`)).status).toBe(404);
    expect((await admin(`/api/recordings/${recording.id}/exchanges`)).status).toBe(404);
  });

  it("answers bad input with a clear 400/404 and a JSON body", async () => {
    const badRate = await admin("/api/routes/order-detail/recordings", { method: "POST", body: { rate: 0, reason: "x" } });
    expect(badRate.status).toBe(400);
    expect(await badRate.json()).toMatchObject({ error: { code: "invalid_input" } });
    const tooBig = await admin("/api/routes/order-detail/recordings", { method: "POST", body: { max: 10_000_000, reason: "x" } });
    expect(tooBig.status).toBe(400);
    expect(await tooBig.json()).toMatchObject({ error: { message: expect.stringContaining("recording.maxExchanges") } });
    expect((await admin("/api/routes/nope/recordings", { method: "POST", body: { reason: "x" } })).status).toBe(404);
    expect(await json(admin("/api/recordings/999999"))).toMatchObject({ error: { code: "unknown_recording" } });
    expect((await admin("/api/recordings/abc/export")).status).toBe(404);
  });
});
