import type pg from "pg";
import { summaryOf, type EvidenceStore } from "../evidence-store.ts";
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
  };
}
