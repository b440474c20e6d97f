import type pg from "pg";
import { historyOf, isTrafficMetric, minuteOf, summaryOf, type EvidenceStore } from "../evidence-store.ts";
import { inTransaction } from "./transaction.ts";

/** Evidence counts on PostgreSQL: the guards of a fleet judge the sum over its nodes. */
export function createPostgresEvidenceStore(pool: pg.Pool): EvidenceStore {
  return {
    add: (nodeId, counts) =>
      inTransaction(pool, async (client) => {
        // Summed by key first: one INSERT … ON CONFLICT may not touch a row twice.
        const summed = new Map<string, { routeId: string; bucket: number; metric: string; count: number }>();
        for (const c of counts) {
          if (c.count === 0) continue;
          const key = `${c.routeId}\u0000${c.bucket}\u0000${c.metric}`;
          const row = summed.get(key);
          if (row) row.count += c.count;
          else summed.set(key, { ...c });
        }
        const rows = [...summed.values()];
        if (rows.length === 0) return;
        // One statement per flush (unnest of arrays), rows in key order so concurrent flushes never deadlock.
        rows.sort((a, b) => (a.routeId < b.routeId ? -1 : a.routeId > b.routeId ? 1 : a.bucket - b.bucket || (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0)));
        await client.query(
          `INSERT INTO evidence_counts (node_id, route_id, bucket, metric, count)
           SELECT $1, r, b, m, c FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bigint[]) AS t(r, b, m, c)
           ON CONFLICT (route_id, bucket, metric, node_id) DO UPDATE SET count = evidence_counts.count + excluded.count`,
          [nodeId, rows.map((r) => r.routeId), rows.map((r) => r.bucket), rows.map((r) => r.metric), rows.map((r) => r.count)],
        );
        // The per-minute history: the same counts summed by minute (several buckets fall in one), in key order.
        const minutes = new Map<string, { routeId: string; minute: number; metric: string; count: number }>();
        for (const r of rows) {
          if (!isTrafficMetric(r.metric)) continue;
          const minute = minuteOf(r.bucket);
          const key = `${r.routeId}\u0000${minute}\u0000${r.metric}`;
          const row = minutes.get(key);
          if (row) row.count += r.count;
          else minutes.set(key, { routeId: r.routeId, minute, metric: r.metric, count: r.count });
        }
        const history = [...minutes.values()].sort((a, b) => (a.routeId < b.routeId ? -1 : a.routeId > b.routeId ? 1 : a.minute - b.minute || (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0)));
        if (history.length === 0) return;
        await client.query(
          `INSERT INTO traffic_minutes (route_id, minute, metric, count)
           SELECT r, m, k, c FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[]) AS t(r, m, k, c)
           ON CONFLICT (route_id, minute, metric) DO UPDATE SET count = traffic_minutes.count + excluded.count`,
          [history.map((r) => r.routeId), history.map((r) => r.minute), history.map((r) => r.metric), history.map((r) => r.count)],
        );
      }),
    async summary(routeId, fromMs, toMs) {
      const { rows } = await pool.query<{ metric: string; count: string }>(
        "SELECT metric, sum(count) AS count FROM evidence_counts WHERE route_id = $1 AND bucket >= $2 AND bucket < $3 GROUP BY metric",
        [routeId, fromMs, toMs],
      );
      return summaryOf(rows.map((r) => ({ metric: r.metric, count: Number(r.count) })), fromMs, toMs);
    },
    async prune(beforeMs) {
      await pool.query("DELETE FROM evidence_counts WHERE bucket < $1", [beforeMs]);
    },
    async history(routeId, fromMinute, toMinute) {
      const { rows } = await pool.query<{ minute: string; metric: string; count: string }>(
        "SELECT minute, metric, count FROM traffic_minutes WHERE route_id = $1 AND minute >= $2 AND minute < $3 ORDER BY minute",
        [routeId, fromMinute, toMinute],
      );
      return historyOf(rows.map((r) => ({ minute: Number(r.minute), metric: r.metric, count: Number(r.count) })));
    },
    async pruneHistory(beforeMinute) {
      await pool.query("DELETE FROM traffic_minutes WHERE minute < $1", [beforeMinute]);
    },
  };
}
