import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createAccessLog, type AccessEntry } from "../../../src/proxy/access-log.ts";

/** A pino logger writing into an array, as the proxy's writes to stdout. */
function capturingLogger(level = "info") {
  const writes: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level, base: { service: "strangler-fig" } }, destination), writes };
}

const entry = (over: Partial<AccessEntry> = {}): AccessEntry => ({
  method: "GET",
  path: '/a "quoted"\\path/é',
  upstreamPath: undefined,
  upstream: "http://10.0.0.9:8080",
  client: "10.0.0.1",
  protocol: "HTTP/1.1",
  route: "orders",
  decision: "target:SPLIT",
  backend: "orders",
  status: 200,
  completed: true,
  bytes: 12,
  durationMs: 1.23456,
  upstreamMs: undefined,
  requestId: "rid-1",
  traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  ...over,
});

const SETTINGS = { sampleRatio: 1, maxBatchBytes: 64 * 1024 };
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const withoutTime = (line: string) => line.replace(/"time":\d+/, '"time":0');

describe("the access log's lines", () => {
  it("are the lines pino itself writes for the same fields, byte for byte but the time", async () => {
    const ours = capturingLogger();
    createAccessLog(ours.logger, () => SETTINGS).write(entry());
    await nextTurn();
    const theirs = capturingLogger();
    theirs.logger.child({ log: "access" }).info(
      { method: "GET", path: '/a "quoted"\\path/é', upstreamPath: null, upstream: "http://10.0.0.9:8080", client: "10.0.0.1", protocol: "HTTP/1.1", route: "orders", decision: "target:SPLIT", backend: "orders", status: 200, completed: true, bytes: 12, durationMs: 1.235, upstreamMs: null, requestId: "rid-1", traceId: "0af7651916cd43dd8448eb211c80319c" },
      "access",
    );
    await nextTurn();
    expect(ours.writes.map(withoutTime)).toEqual(theirs.writes.map(withoutTime));
    expect(JSON.parse(ours.writes[0] as string)).toMatchObject({ level: 30, service: "strangler-fig", log: "access", path: '/a "quoted"\\path/é', msg: "access" });
  });

  it("equal pino's for every kind of field: strings to escape, long ones, missing numbers, a cut exchange, no or a bad trace", async () => {
    const entries = [
      entry({ path: "/ctl\u0001\ttab", bytes: undefined, upstreamMs: 0.1234567, traceparent: undefined }),
      entry({ path: `/${"long".repeat(30)}`, client: "2001:db8::1", completed: false, status: 502, traceparent: "not a traceparent" }),
      entry({ path: "/api/products/1", upstreamPath: "/v2/products/\"1\"", upstream: undefined }),
      entry({ path: "/émoji/😀", decision: "unrouted", route: "(unrouted)", durationMs: 12345.6789, bytes: 0, traceparent: `00-${"0".repeat(32)}-b7ad6b7169203331-01` }),
    ];
    for (const e of entries) {
      const ours = capturingLogger();
      createAccessLog(ours.logger, () => SETTINGS).write(e);
      await nextTurn();
      const theirs = capturingLogger();
      const traceId = /^00-([\da-f]{32})-/.exec(e.traceparent ?? "")?.[1];
      theirs.logger.child({ log: "access" }).info(
        {
          method: e.method, path: e.path, upstreamPath: e.upstreamPath ?? null, upstream: e.upstream ?? null, client: e.client, protocol: e.protocol, route: e.route, decision: e.decision, backend: e.backend,
          status: e.completed ? e.status : 0, completed: e.completed, bytes: e.bytes ?? null, durationMs: Math.round(e.durationMs * 1000) / 1000,
          upstreamMs: e.upstreamMs === undefined ? null : Math.round(e.upstreamMs * 1000) / 1000, requestId: e.requestId,
          traceId: traceId === undefined || traceId === "0".repeat(32) ? null : traceId,
        },
        "access",
      );
      await nextTurn();
      expect(ours.writes.map(withoutTime)).toEqual(theirs.writes.map(withoutTime));
    }
  });

  it("escapes a lone surrogate, as JSON.stringify does (pino writes it raw, which no UTF-8 encoder keeps)", async () => {
    const ours = capturingLogger();
    createAccessLog(ours.logger, () => SETTINGS).write(entry({ path: "/lone\ud800" }));
    await nextTurn();
    expect(ours.writes[0]).toContain('"path":"/lone\\ud800"');
    expect(JSON.parse(ours.writes[0] as string)).toMatchObject({ path: "/lone\ud800" });
  });

  it("go out in one write per event-loop turn, in order; a cut exchange logs status 0", async () => {
    const { logger, writes } = capturingLogger();
    const log = createAccessLog(logger, () => SETTINGS);
    log.write(entry({ requestId: "r1" }));
    log.write(entry({ requestId: "r2", completed: false }));
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toHaveLength(1);
    const lines = (writes[0] as string).trimEnd().split("\n").map((l) => JSON.parse(l) as { requestId: string; status: number });
    expect(lines.map((l) => [l.requestId, l.status])).toEqual([["r1", 200], ["r2", 0]]);
  });

  it("are written at once past 64 KiB of waiting lines, and not at all when the level hides info", async () => {
    const { logger, writes } = capturingLogger();
    const log = createAccessLog(logger, () => SETTINGS);
    for (let i = 0; i < 400; i++) log.write(entry({ requestId: `r${i}` }));
    expect(writes.length).toBeGreaterThanOrEqual(1);
    await nextTurn();
    expect(writes.join("").trimEnd().split("\n")).toHaveLength(400);
    const quiet = capturingLogger("warn");
    createAccessLog(quiet.logger, () => SETTINGS).write(entry());
    await nextTurn();
    expect(quiet.writes).toEqual([]);
  });
});
