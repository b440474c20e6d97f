import type Database from "better-sqlite3";

/**
 * The migration map's counts, per (method, template) and hour, summed over every process and node:
 * metrics `requests`, `legacy` and `target` (which side answered), `status.1`…`status.5` (status class;
 * `status.0` for an exchange cut before its answer), `le.<i>` (latency bucket i of LATENCY_BUCKETS_MS) and
 * `bytes` (Content-Length of the answers that had one). Counts add up: each delta is added once.
 */
export interface MapCount {
  readonly method: string;
  readonly template: string;
  readonly bucket: number;
  readonly metric: string;
  readonly count: number;
}

/** When a template was first and last seen, by whom it was answered last, and which route claimed it. */
export interface MapSeen {
  readonly method: string;
  readonly template: string;
  readonly routeId: string | null;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly lastLegacyAt: number | null;
  readonly lastTargetAt: number | null;
}

export interface MapBatch {
  readonly counts: readonly MapCount[];
  readonly seen: readonly MapSeen[];
  /** Positions a process collapsed into a parameter (template-trie.ts), so every reader folds alike. */
  readonly collapsed: readonly string[];
}

export interface MapSnapshot {
  /** Summed over the buckets since the asked time, per (method, template, metric). */
  readonly counts: ReadonlyArray<{ method: string; template: string; metric: string; count: number }>;
  readonly seen: readonly MapSeen[];
  readonly collapsed: readonly string[];
  /** Per hour: requests answered by the monolith and by the services. */
  readonly hours: ReadonlyArray<{ bucket: number; legacy: number; target: number }>;
}

export interface MapStore {
  /** True when a batch added reaches readers only once the fleet's judge has folded it (PostgreSQL); false when read back at once (SQLite). */
  readonly foldedByJudge: boolean;
  add(batch: MapBatch): Promise<void>;
  read(sinceMs: number): Promise<MapSnapshot>;
  /** The templates `routeId` claimed, with the last time the monolith answered each. */
  servedFor(routeId: string): Promise<MapSeen[]>;
  /** Deletes count buckets, and templates not seen, since before `beforeMs`. */
  prune(beforeMs: number): Promise<void>;
}

interface SeenRow {
  method: string;
  template: string;
  route_id: string | null;
  first_seen: number | string;
  last_seen: number | string;
  last_legacy_at: number | string | null;
  last_target_at: number | string | null;
}

const orNull = (v: number | string | null) => (v === null ? null : Number(v));
export const toSeen = (r: SeenRow): MapSeen => ({
  method: r.method,
  template: r.template,
  routeId: r.route_id,
  firstSeen: Number(r.first_seen),
  lastSeen: Number(r.last_seen),
  lastLegacyAt: orNull(r.last_legacy_at),
  lastTargetAt: orNull(r.last_target_at),
});

/** Upsert of a template's times: earliest first sight, latest of the rest; the newest sighting names the route. */
export const SEEN_UPSERT = `ON CONFLICT (method, template) DO UPDATE SET
  route_id = CASE WHEN excluded.last_seen >= map_templates.last_seen THEN excluded.route_id ELSE map_templates.route_id END,
  first_seen = min(map_templates.first_seen, excluded.first_seen),
  last_seen = max(map_templates.last_seen, excluded.last_seen),
  last_legacy_at = max(coalesce(map_templates.last_legacy_at, excluded.last_legacy_at), coalesce(excluded.last_legacy_at, map_templates.last_legacy_at)),
  last_target_at = max(coalesce(map_templates.last_target_at, excluded.last_target_at), coalesce(excluded.last_target_at, map_templates.last_target_at))`;

/** The map in the SQLite file: the processes of one host add to one map. */
export function createSqliteMapStore(db: Database.Database): MapStore {
  const addCount = db.prepare(
    `INSERT INTO map_counts (method, template, bucket, metric, count) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (method, template, bucket, metric) DO UPDATE SET count = count + excluded.count`,
  );
  const addSeen = db.prepare(
    `INSERT INTO map_templates (method, template, route_id, first_seen, last_seen, last_legacy_at, last_target_at) VALUES (?, ?, ?, ?, ?, ?, ?) ${SEEN_UPSERT}`,
  );
  const addCollapsed = db.prepare("INSERT INTO map_collapsed (prefix) VALUES (?) ON CONFLICT DO NOTHING");
  const add = db.transaction((batch: MapBatch) => {
    for (const c of batch.counts) if (c.count !== 0) addCount.run(c.method, c.template, c.bucket, c.metric, c.count);
    for (const s of batch.seen) addSeen.run(s.method, s.template, s.routeId, s.firstSeen, s.lastSeen, s.lastLegacyAt, s.lastTargetAt);
    for (const p of batch.collapsed) addCollapsed.run(p);
  });
  return {
    foldedByJudge: false,
    async add(batch) {
      add.immediate(batch);
    },
    async read(sinceMs) {
      return {
        counts: db.prepare("SELECT method, template, metric, sum(count) AS count FROM map_counts WHERE bucket >= ? GROUP BY method, template, metric").all(sinceMs) as MapSnapshot["counts"] as Array<{ method: string; template: string; metric: string; count: number }>,
        seen: (db.prepare("SELECT * FROM map_templates WHERE last_seen >= ?").all(sinceMs) as SeenRow[]).map(toSeen),
        collapsed: (db.prepare("SELECT prefix FROM map_collapsed").all() as Array<{ prefix: string }>).map((r) => r.prefix),
        hours: db
          .prepare(
            `SELECT bucket, sum(CASE WHEN metric = 'legacy' THEN count ELSE 0 END) AS legacy, sum(CASE WHEN metric = 'target' THEN count ELSE 0 END) AS target
             FROM map_counts WHERE bucket >= ? AND metric IN ('legacy', 'target') GROUP BY bucket ORDER BY bucket`,
          )
          .all(sinceMs) as Array<{ bucket: number; legacy: number; target: number }>,
      };
    },
    async servedFor(routeId) {
      return (db.prepare("SELECT * FROM map_templates WHERE route_id = ? ORDER BY last_legacy_at DESC").all(routeId) as SeenRow[]).map(toSeen);
    },
    async prune(beforeMs) {
      db.prepare("DELETE FROM map_counts WHERE bucket < ?").run(beforeMs);
      db.prepare("DELETE FROM map_templates WHERE last_seen < ?").run(beforeMs);
    },
  };
}
