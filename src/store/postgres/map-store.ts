import type pg from "pg";
import { SEEN_UPSERT, toSeen, type MapCount, type MapStore } from "../map-store.ts";
import { inTransaction } from "./transaction.ts";

/** PostgreSQL spells SQLite's two-argument min/max as least/greatest. */
const PG_SEEN_UPSERT = SEEN_UPSERT.replace(/\bmin\(/g, "least(").replace(/\bmax\(/g, "greatest(");

/** The map on PostgreSQL: every node of the fleet adds to one map. */
export function createPostgresMapStore(pool: pg.Pool): MapStore {
  return {
    add: (batch) =>
      inTransaction(pool, async (client) => {
        // Summed by key and sorted, so one statement touches a row once and concurrent flushes never deadlock.
        const summed = new Map<string, MapCount & { count: number }>();
        for (const c of batch.counts) {
          if (c.count === 0) continue;
          const key = `${c.method}\u0000${c.template}\u0000${c.bucket}\u0000${c.metric}`;
          const row = summed.get(key);
          if (row) row.count += c.count;
          else summed.set(key, { ...c });
        }
        const rows = [...summed.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
        if (rows.length > 0) {
          await client.query(
            `INSERT INTO map_counts (method, template, bucket, metric, count)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[])
             ON CONFLICT (method, template, bucket, metric) DO UPDATE SET count = map_counts.count + excluded.count`,
            [rows.map((r) => r.method), rows.map((r) => r.template), rows.map((r) => r.bucket), rows.map((r) => r.metric), rows.map((r) => r.count)],
          );
        }
        const seen = [...batch.seen].sort((a, b) => (a.method + a.template < b.method + b.template ? -1 : 1));
        for (const s of seen) {
          await client.query(
            `INSERT INTO map_templates (method, template, route_id, first_seen, last_seen, last_legacy_at, last_target_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ${PG_SEEN_UPSERT}`,
            [s.method, s.template, s.routeId, s.firstSeen, s.lastSeen, s.lastLegacyAt, s.lastTargetAt],
          );
        }
        for (const prefix of batch.collapsed) await client.query("INSERT INTO map_collapsed (prefix) VALUES ($1) ON CONFLICT DO NOTHING", [prefix]);
      }),
    async read(sinceMs) {
      const [counts, seen, collapsed, hours] = await Promise.all([
        pool.query<{ method: string; template: string; metric: string; count: string }>(
          "SELECT method, template, metric, sum(count) AS count FROM map_counts WHERE bucket >= $1 GROUP BY method, template, metric",
          [sinceMs],
        ),
        pool.query("SELECT * FROM map_templates WHERE last_seen >= $1", [sinceMs]),
        pool.query<{ prefix: string }>("SELECT prefix FROM map_collapsed"),
        pool.query<{ bucket: string; legacy: string; target: string }>(
          `SELECT bucket, sum(CASE WHEN metric = 'legacy' THEN count ELSE 0 END) AS legacy, sum(CASE WHEN metric = 'target' THEN count ELSE 0 END) AS target
           FROM map_counts WHERE bucket >= $1 AND metric IN ('legacy', 'target') GROUP BY bucket ORDER BY bucket`,
          [sinceMs],
        ),
      ]);
      return {
        counts: counts.rows.map((r) => ({ ...r, count: Number(r.count) })),
        seen: seen.rows.map(toSeen),
        collapsed: collapsed.rows.map((r) => r.prefix),
        hours: hours.rows.map((r) => ({ bucket: Number(r.bucket), legacy: Number(r.legacy), target: Number(r.target) })),
      };
    },
    async servedFor(routeId) {
      return (await pool.query("SELECT * FROM map_templates WHERE route_id = $1 ORDER BY last_legacy_at DESC NULLS LAST", [routeId])).rows.map(toSeen);
    },
    async prune(beforeMs) {
      await pool.query("DELETE FROM map_counts WHERE bucket < $1", [beforeMs]);
      await pool.query("DELETE FROM map_templates WHERE last_seen < $1", [beforeMs]);
    },
  };
}
