import type pg from "pg";
import type { EvidenceSummary } from "../../guard/evidence-summary.ts";
import { historyOf, summaryOf, type EvidenceStore, type EvidenceWindow } from "../evidence-store.ts";
import { EVIDENCE_METRICS, vectorRows } from "../evidence-vector.ts";
import type { NodeOutbox } from "./fleet-inbox.ts";

/**
 * Evidence counts on PostgreSQL: a node's deltas go to its outbox (one inbox row per flush), the judge
 * folds every node's into one row per route and bucket (src/store/postgres/fleet-inbox.ts), and the
 * guards read the folded rows: the fleet's sum, as late as the last fold.
 */
export function createPostgresEvidenceStore(pool: pg.Pool, outbox: NodeOutbox): EvidenceStore {
  const summaries = async (windows: readonly EvidenceWindow[], toMs: number): Promise<EvidenceSummary[]> => {
    if (windows.length === 0) return [];
    // One query for every window: each route's counts summed position by position over its own window.
    const { rows } = await pool.query<{ i: string; pos: string; count: string }>(
      `SELECT w.i, u.pos, sum(u.c) AS count
       FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS w(route_id, from_ms, i)
       JOIN evidence_buckets e ON e.route_id = w.route_id AND e.bucket >= w.from_ms AND e.bucket < $3
       CROSS JOIN LATERAL unnest(e.counts) WITH ORDINALITY AS u(c, pos)
       WHERE u.c <> 0
       GROUP BY w.i, u.pos`,
      [windows.map((w) => w.routeId), windows.map((w) => w.fromMs), toMs],
    );
    const perWindow = windows.map(() => [] as Array<{ metric: string; count: number }>);
    for (const r of rows) {
      const metric = EVIDENCE_METRICS[Number(r.pos) - 1];
      if (metric !== undefined) perWindow[Number(r.i) - 1]?.push({ metric, count: Number(r.count) });
    }
    return perWindow.map((counted, i) => summaryOf(counted, (windows[i] as EvidenceWindow).fromMs, toMs));
  };
  return {
    foldedByJudge: true,
    add: (_nodeId, counts) => outbox.putEvidence(counts),
    summaries,
    async summary(routeId, fromMs, toMs) {
      return (await summaries([{ routeId, fromMs }], toMs))[0] as EvidenceSummary;
    },
    async prune(beforeMs) {
      await pool.query("DELETE FROM evidence_buckets WHERE bucket < $1", [beforeMs]);
    },
    async history(routeId, fromMinute, toMinute) {
      const { rows } = await pool.query<{ minute: string; counts: string[] }>(
        "SELECT minute, counts FROM traffic_minute_counts WHERE route_id = $1 AND minute >= $2 AND minute < $3 ORDER BY minute",
        [routeId, fromMinute, toMinute],
      );
      return historyOf(rows.flatMap((r) => vectorRows(r.counts).map((c) => ({ minute: Number(r.minute), ...c }))));
    },
    async histories(routeIds, fromMinute, toMinute) {
      const { rows } = await pool.query<{ route_id: string; minute: string; counts: string[] }>(
        "SELECT route_id, minute, counts FROM traffic_minute_counts WHERE route_id = ANY($1::text[]) AND minute >= $2 AND minute < $3 ORDER BY route_id, minute",
        [routeIds, fromMinute, toMinute],
      );
      const byRoute = new Map<string, Array<{ minute: number; metric: string; count: number }>>();
      for (const r of rows) {
        let into = byRoute.get(r.route_id);
        if (!into) byRoute.set(r.route_id, (into = []));
        for (const c of vectorRows(r.counts)) into.push({ minute: Number(r.minute), ...c });
      }
      return new Map([...byRoute].map(([id, counted]) => [id, historyOf(counted)]));
    },
    async pruneHistory(beforeMinute) {
      await pool.query("DELETE FROM traffic_minute_counts WHERE minute < $1", [beforeMinute]);
    },
  };
}
