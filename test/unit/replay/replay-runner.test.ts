import type { IncomingMessage, ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { configSchema, type RouteConfig } from "../../../src/config/schema.ts";
import { NO_EXTRA_RULES } from "../../../src/redaction/redactor.ts";
import { runReplay } from "../../../src/replay/replay-runner.ts";
import type { RecordedExchange, RecordingRecord } from "../../../src/store/recording-store.ts";
import { startFixture, type Fixture } from "../../helpers/fixture-server.ts";

const config = configSchema.parse({
  backends: { legacy: { url: "http://127.0.0.1:1" }, svc: { url: "http://127.0.0.1:1" } },
  routes: [{ id: "r", match: { path: "/r/:id" }, target: "svc", rollout: { percent: 0 }, replay: { minExchanges: 1 } }],
});
const route = config.routes[0] as RouteConfig;
const recording = { id: 1, routeId: "r" } as RecordingRecord;
const exchanges = (n: number): RecordedExchange[] =>
  Array.from({ length: n }, (_, i) => ({
    id: i + 1, recordingId: 1, at: 1_000 + i, session: "", stratum: "GET 2xx application/json object", method: "GET", path: `/r/${i}`, query: "", requestHeaders: {}, requestBody: "", requestTruncated: false,
    status: 200, responseHeaders: { "content-type": "application/json" }, responseBody: JSON.stringify({ id: i, at: "then" }), responseTruncated: false, latencyMs: 1, configVersion: "v",
  }));
async function* iterate(list: RecordedExchange[]) {
  yield* list;
}

/** A backend answering `{ id, at }` with `at` of its own: what differs between two of the monolith's answers. */
function orders(at: string) {
  const seen: string[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    seen.push(req.url ?? "");
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ id: Number(req.url?.split("/")[2]), at }));
  };
  return { handler, seen };
}

describe("a replay run, against real servers", () => {
  const servers: Fixture[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });
  const start = async (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
    const server = await startFixture(handler);
    servers.push(server);
    return server;
  };
  const run = (target: string, fresh: { url: string; paused: boolean } | undefined, isNoise: (route: unknown, path: string, kind: string) => boolean = () => false) =>
    runReplay({
      runId: 1,
      recordings: [{ recording, route }],
      exchanges: iterate(exchanges(20)),
      target: { url: target, sandbox: false },
      pacing: { mode: "concurrency", limit: 4 },
      settings: { ...config.replay, freshMonolithPerSecond: 1_000 },
      maxBodyBytes: 65_536,
      maxDecodedBytes: 1_048_576,
      redaction: NO_EXTRA_RULES,
      auth: () => undefined,
      setAside: () => [],
      isNoise,
      fresh: fresh ? { url: () => fresh.url, paused: () => fresh.paused } : undefined,
      previous: undefined,
    });

  it("asks the monolith afresh for reads, and what moved there since the recording is noise for the run", async () => {
    const candidate = await start(orders("now").handler);
    const monolith = orders("now, at the monolith");
    const monolithServer = await start(monolith.handler);
    const { report } = await run(candidate.url, { url: monolithServer.url, paused: false });
    expect(monolith.seen.length).toBeGreaterThan(0);
    expect(report.runNoise).toEqual(["$.at"]);
    expect(report.counts).toMatchObject({ matched: 20, diverged: 0, noiseDifferences: 20 });
  });

  it("asks the monolith nothing while the route's guard holds it, and the difference then counts", async () => {
    const candidate = await start(orders("now").handler);
    const monolith = orders("now, at the monolith");
    const monolithServer = await start(monolith.handler);
    const { report } = await run(candidate.url, { url: monolithServer.url, paused: true });
    expect(monolith.seen).toEqual([]);
    expect(report.counts).toMatchObject({ matched: 0, diverged: 20 });
    expect(report.signatures.map((s) => `${s.kind} ${s.path}`)).toEqual(["changed $.at"]);
  });

  it("sets aside the noise the live comparison learned, by place and kind: a changed `at` is noise there, a type change would not be", async () => {
    const candidate = await start(orders("now").handler);
    const changedAt = (_route: unknown, path: string, kind: string) => path === "$.at" && kind === "changed";
    const { report } = await run(candidate.url, undefined, changedAt);
    expect(report.counts).toMatchObject({ matched: 20, diverged: 0, noiseDifferences: 20 });
    // Noise of another kind at the same place does not hide a change.
    const { report: other } = await run(candidate.url, undefined, (_r, path, kind) => path === "$.at" && kind === "order");
    expect(other.counts).toMatchObject({ matched: 0, diverged: 20 });
  });

  it("counts a candidate that does not answer in time as a timeout, never a hang", async () => {
    const silent = await start(() => undefined);
    const started = Date.now();
    const { report } = await runReplay({
      runId: 1, recordings: [{ recording, route }], exchanges: iterate(exchanges(3)), target: { url: silent.url, sandbox: false }, pacing: { mode: "concurrency", limit: 4 },
      settings: { ...config.replay, timeoutMs: 300 }, maxBodyBytes: 65_536, maxDecodedBytes: 1_048_576, redaction: NO_EXTRA_RULES, auth: () => undefined, setAside: () => [], isNoise: () => false, previous: undefined,
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(report.counts).toMatchObject({ timeouts: 3, matched: 0 });
    expect(report.failures[0]?.example.error).toBe("no answer within 300 ms");
    expect(report.status).toBe("failed");
  });
});
