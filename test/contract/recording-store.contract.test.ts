import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewRecordedExchange } from "../../src/store/recording-store.ts";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { storeKinds, withStore } from "../helpers/stores.ts";

/** Recordings of routes' exchanges, on SQLite (the processes of one host) and PostgreSQL (a fleet). */
let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

const T0 = Date.UTC(2026, 11, 6);
const started = (routeId: string, at = T0) => ({ routeId, rate: 0.1, maxExchanges: 1_000, startedBy: "alice", reason: "before the canary", at });
const exchange = (i: number, over: Partial<NewRecordedExchange> = {}): NewRecordedExchange => ({
  at: T0 + i,
  session: `psn_${i % 2}`,
  stratum: "GET 2xx application/json object",
  method: "GET",
  path: `/api/orders/o_${i}`,
  query: "view=full",
  requestHeaders: { accept: "application/json", authorization: "[redacted]" },
  requestBody: "",
  requestTruncated: false,
  status: 200,
  responseHeaders: { "content-type": "application/json" },
  responseBody: JSON.stringify({ id: `o_${i}`, total: 12.5 }),
  responseTruncated: false,
  latencyMs: 3.25,
  configVersion: "0a1b2c3d4e5f",
  ...over,
});

describe.each(storeKinds(() => postgres))("the recording store on %s", (_kind, open) => {
  it(
    "starts one recording per route at a time, whichever node asks, and stops it once",
    withStore(open, async (s) => {
      const [a, b] = [await s.node(), await s.node()];
      const results = await Promise.all([a.recordings.start(started("order-detail")), b.recordings.start(started("order-detail"))]);
      const [first] = results.filter((r) => r !== undefined);
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      expect(first).toMatchObject({ routeId: "order-detail", startedAt: T0, stoppedAt: null, stopReason: null, rate: 0.1, maxExchanges: 1_000, startedBy: "alice", reason: "before the canary", exchanges: 0, truncated: 0, dropped: 0 });
      expect(await b.recordings.start(started("order-create"))).toMatchObject({ routeId: "order-create" });
      expect((await a.recordings.active()).map((r) => r.routeId)).toEqual(["order-detail", "order-create"]);
      const id = (first as { id: number }).id;
      expect(await b.recordings.stop(id, T0 + 60_000, "stopped")).toMatchObject({ id, stoppedAt: T0 + 60_000, stopReason: "stopped" });
      expect(await a.recordings.stop(id, T0 + 70_000, "full")).toBeUndefined();
      expect((await a.recordings.active()).map((r) => r.routeId)).toEqual(["order-create"]);
      // Stopped, the route may be recorded again.
      expect(await a.recordings.start(started("order-detail", T0 + 80_000))).toMatchObject({ routeId: "order-detail", startedAt: T0 + 80_000 });
      expect((await b.recordings.list("order-detail")).map((r) => r.startedAt)).toEqual([T0 + 80_000, T0]);
      expect(await b.recordings.list()).toHaveLength(3);
    }),
  );

  it(
    "appends batches from several nodes, sums their counts, keeps the exchanges as given, in order, and pages them",
    withStore(open, async (s) => {
      const [a, b] = [await s.node(), await s.node()];
      const { id } = (await a.recordings.start(started("order-detail"))) as { id: number };
      await a.recordings.append(id, [exchange(1), exchange(2, { responseTruncated: true, responseBody: "{…" })], 0);
      const after = await b.recordings.append(id, [exchange(3, { method: "POST", requestBody: '{"items":[]}', status: 201 })], 4);
      expect(after).toMatchObject({ exchanges: 3, truncated: 1, dropped: 4 });
      const all = await b.recordings.exchanges(id, 0, 100);
      expect(all.map((e) => e.path)).toEqual(["/api/orders/o_1", "/api/orders/o_2", "/api/orders/o_3"]);
      const { id: firstId, recordingId, ...first } = all[0] as (typeof all)[number];
      expect(recordingId).toBe(id);
      expect(first).toEqual(exchange(1));
      expect(all[1]).toMatchObject({ responseTruncated: true, requestTruncated: false });
      expect(all[2]).toMatchObject({ method: "POST", requestBody: '{"items":[]}', status: 201 });
      expect((await a.recordings.exchanges(id, firstId, 1)).map((e) => e.path)).toEqual(["/api/orders/o_2"]);
      // Nothing is added to a stopped recording.
      await a.recordings.stop(id, T0 + 1_000, "full");
      expect(await b.recordings.append(id, [exchange(4)], 0)).toBeUndefined();
      expect(await a.recordings.exchanges(id, 0, 100)).toHaveLength(3);
    }),
  );

  it(
    "deletes a recording with its exchanges, and prunes those stopped before the retention's start",
    withStore(open, async (s) => {
      const node = await s.node();
      const old = (await node.recordings.start(started("a"))) as { id: number };
      await node.recordings.append(old.id, [exchange(1)], 0);
      await node.recordings.stop(old.id, T0 + 10, "stopped");
      const oldRun = await node.recordings.addRun({ recordingIds: [old.id], routeIds: ["a"], target: "http://127.0.0.1:9", sandbox: false, startedAt: T0 + 20, startedBy: "ci", reason: "r" });
      const recent = (await node.recordings.start(started("b"))) as { id: number };
      await node.recordings.append(recent.id, [exchange(2)], 0);
      await node.recordings.stop(recent.id, T0 + 1_000, "stopped");
      const running = (await node.recordings.start(started("c"))) as { id: number };
      await node.recordings.prune(T0 + 500);
      expect((await node.recordings.list()).map((r) => r.routeId).sort()).toEqual(["b", "c"]);
      expect(await node.recordings.exchanges(old.id, 0, 10)).toEqual([]);
      expect(await node.recordings.getRun(oldRun.id)).toBeUndefined();
      expect(await node.recordings.delete(recent.id)).toBe(true);
      expect(await node.recordings.delete(recent.id)).toBe(false);
      expect(await node.recordings.exchanges(recent.id, 0, 10)).toEqual([]);
      expect(await node.recordings.get(running.id)).toMatchObject({ routeId: "c", stoppedAt: null });
    }),
  );

  it(
    "keeps replay runs of one or more recordings: ended once, the previous one of the same recordings against the same target with its verdicts, a route's passing run, deleted with a recording",
    withStore(open, async (s) => {
      const [a, b] = [await s.node(), await s.node()];
      const detail = (await a.recordings.start(started("order_detail"))) as { id: number };
      const create = (await a.recordings.start(started("order-create"))) as { id: number };
      await a.recordings.stop(detail.id, T0 + 10, "stopped");
      await a.recordings.stop(create.id, T0 + 10, "stopped");
      const run = { recordingIds: [detail.id, create.id], routeIds: ["order_detail", "order-create"], target: "http://127.0.0.1:3002", sandbox: true, startedAt: T0 + 20, startedBy: "ci", reason: "pre-canary" };
      const first = await a.recordings.addRun(run);
      expect(first).toMatchObject({ target: run.target, sandbox: true, status: "running", finishedAt: null, report: null, verdicts: {} });
      expect([...first.recordingIds].sort()).toEqual([detail.id, create.id].sort());
      expect([...first.routeIds].sort()).toEqual(["order-create", "order_detail"]);
      expect(await b.recordings.hasPassingRun("order_detail")).toBe(false);
      const ended = await b.recordings.finishRun(first.id, { finishedAt: T0 + 30, status: "passed", report: { passRate: 1 }, verdicts: { "1": "match", "2": "diverge" } });
      expect(ended).toMatchObject({ status: "passed", finishedAt: T0 + 30, report: { passRate: 1 }, verdicts: { "1": "match", "2": "diverge" } });
      expect(await a.recordings.finishRun(first.id, { finishedAt: T0 + 40, status: "failed", report: {}, verdicts: {} })).toBeUndefined();
      expect(await a.recordings.hasPassingRun("order_detail")).toBe(true);
      expect(await a.recordings.hasPassingRun("order-create")).toBe(true);
      // "_" is a wildcard to LIKE: a route id is matched whole, as text.
      expect(await a.recordings.hasPassingRun("order-detail")).toBe(false);
      expect(await a.recordings.hasPassingRun("order")).toBe(false);
      const second = await a.recordings.addRun({ ...run, recordingIds: [create.id, detail.id], startedAt: T0 + 50 });
      const elsewhere = await a.recordings.addRun({ ...run, target: "http://127.0.0.1:9", startedAt: T0 + 60 });
      const alone = await a.recordings.addRun({ ...run, recordingIds: [detail.id], routeIds: ["order_detail"], startedAt: T0 + 70 });
      expect((await a.recordings.previousRun([create.id, detail.id], run.target, second.id))?.verdicts).toEqual({ "1": "match", "2": "diverge" });
      expect(await a.recordings.previousRun([detail.id], run.target, alone.id)).toBeUndefined();
      expect(await a.recordings.previousRun(run.recordingIds, "http://127.0.0.1:9", elsewhere.id)).toBeUndefined();
      expect((await b.recordings.runs(detail.id)).map((r) => r.id)).toEqual([alone.id, elsewhere.id, second.id, first.id]);
      expect((await b.recordings.runs(create.id)).map((r) => r.id)).toEqual([elsewhere.id, second.id, first.id]);
      expect((await b.recordings.getRun(second.id))?.status).toBe("running");
      await a.recordings.delete(create.id);
      expect((await b.recordings.runs(detail.id)).map((r) => r.id)).toEqual([alone.id]);
      expect(await b.recordings.getRun(first.id)).toBeUndefined();
    }),
  );
});
