import type pg from "pg";
import { MAP_METRICS } from "../evidence-vector.ts";
import { SEEN_UPSERT, toSeen, type MapSeen, type MapStore } from "../map-store.ts";
import type { NodeOutbox } from "./fleet-inbox.ts";

/** PostgreSQL spells SQLite's two-argument min/max as least/greatest. */
const PG_SEEN_UPSERT = SEEN_UPSERT.replace(/\bmin\(/g, "least(").replace(/\bmax\(/g, "greatest(");

/** A template's hour as the fold adds it: counts in MAP_METRICS' order. */
export interface MapVector {
  readonly method: string;
  readonly template: string;
  readonly bucket: number;
  readonly counts: number[];
}

/** Two sightings of one template as one: the earliest first sight, the latest of the rest; the newest names the route. */
export function mergedSeen(a: MapSeen, b: MapSeen): MapSeen {
  const later = (x: number | null, y: number | null) => (x === null ? y : y === null ? x : Math.max(x, y));
  return {
    method: a.method,
    template: a.template,
    routeId: b.lastSeen >= a.lastSeen ? b.routeId : a.routeId,
    firstSeen: Math.min(a.firstSeen, b.firstSeen),
    lastSeen: Math.max(a.lastSeen, b.lastSeen),
    lastLegacyAt: later(a.lastLegacyAt, b.lastLegacyAt),
    lastTargetAt: later(a.lastTargetAt, b.lastTargetAt),
  };
}

/**
 * Adds the fleet's folded map (src/store/postgres/fleet-inbox.ts) in the caller's transaction: one
 * statement per table, rows in key order (two folders never deadlock), each row touched once.
 */
export async function writeMapBatch(client: pg.PoolClient, vectors: readonly MapVector[], seen: readonly MapSeen[], collapsed: readonly string[]): Promise<void> {
  const key = (m: { method: string; template: string }) => `${m.method}\u0000${m.template}`;
  const counts = [...vectors].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.bucket - b.bucket));
  if (counts.length > 0) {
    await client.query(
      `INSERT INTO map_count_arrays (method, template, bucket, counts)
       SELECT m, t, b, c::bigint[] FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS u(m, t, b, c)
       ON CONFLICT (method, template, bucket) DO UPDATE SET counts = strangler_add_counts(map_count_arrays.counts, excluded.counts)`,
      [counts.map((c) => c.method), counts.map((c) => c.template), counts.map((c) => c.bucket), counts.map((c) => `{${c.counts.join(",")}}`)],
    );
  }
  const sights = [...seen].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  if (sights.length > 0) {
    await client.query(
      `INSERT INTO map_templates (method, template, route_id, first_seen, last_seen, last_legacy_at, last_target_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[]) ${PG_SEEN_UPSERT}`,
      [sights.map((s) => s.method), sights.map((s) => s.template), sights.map((s) => s.routeId), sights.map((s) => s.firstSeen), sights.map((s) => s.lastSeen), sights.map((s) => s.lastLegacyAt), sights.map((s) => s.lastTargetAt)],
    );
  }
  if (collapsed.length > 0) await client.query("INSERT INTO map_collapsed (prefix) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", [[...collapsed].sort()]);
}

/**
 * The map on PostgreSQL: every node of the fleet adds to one map, through its outbox (one inbox row per
 * flush with its evidence); the judge folds every node's into one row per template and hour.
 */
export function createPostgresMapStore(pool: pg.Pool, outbox: NodeOutbox): MapStore {
  return {
    foldedByJudge: true,
    add: (batch) => outbox.putMap(batch),
    async read(sinceMs) {
      const [counts, seen, collapsed, hours] = await Promise.all([
        pool.query<{ method: string; template: string; pos: string; count: string }>(
          `SELECT method, template, u.pos, sum(u.c) AS count FROM map_count_arrays, unnest(counts) WITH ORDINALITY AS u(c, pos)
           WHERE bucket >= $1 AND u.c <> 0 GROUP BY method, template, u.pos`,
          [sinceMs],
        ),
        pool.query("SELECT * FROM map_templates WHERE last_seen >= $1", [sinceMs]),
        pool.query<{ prefix: string }>("SELECT prefix FROM map_collapsed"),
        // Positions 2 and 3 of MAP_METRICS: legacy, target.
        pool.query<{ bucket: string; legacy: string; target: string }>(
          "SELECT bucket, sum(coalesce(counts[2], 0)) AS legacy, sum(coalesce(counts[3], 0)) AS target FROM map_count_arrays WHERE bucket >= $1 GROUP BY bucket ORDER BY bucket",
          [sinceMs],
        ),
      ]);
      return {
        counts: counts.rows.flatMap((r) => {
          const metric = MAP_METRICS[Number(r.pos) - 1];
          return metric === undefined ? [] : [{ method: r.method, template: r.template, metric, count: Number(r.count) }];
        }),
        seen: seen.rows.map(toSeen),
        collapsed: collapsed.rows.map((r) => r.prefix),
        hours: hours.rows.map((r) => ({ bucket: Number(r.bucket), legacy: Number(r.legacy), target: Number(r.target) })),
      };
    },
    async servedFor(routeId) {
      return (await pool.query("SELECT * FROM map_templates WHERE route_id = $1 ORDER BY last_legacy_at DESC NULLS LAST", [routeId])).rows.map(toSeen);
    },
    async prune(beforeMs) {
      await pool.query("DELETE FROM map_count_arrays WHERE bucket < $1", [beforeMs]);
      await pool.query("DELETE FROM map_templates WHERE last_seen < $1", [beforeMs]);
    },
  };
}
