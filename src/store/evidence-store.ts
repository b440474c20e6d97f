import type Database from "better-sqlite3";
import { emptyCounts, summaryFrom, type EvidenceSummary, type SideSummary } from "../guard/evidence-summary.ts";

/**
 * A node's evidence, flushed to the store in small time buckets so that guards and promotion judge the
 * sum over every node (and every process of a host). One row per (route, bucket, metric, node); a metric
 * is a name: `legacy.requests`, `legacy.errors`, `legacy.le.<i>` (latency bucket i of
 * LATENCY_BUCKETS_MS), the same for `target`, and `compared`, `diverged`, `shadow_errors`, `fallbacks`.
 * Counts add up: flushing the same delta twice counts it twice, so a node flushes each delta once.
 *
 * The same flush adds each side's traffic counts to a per-minute history (`traffic_minutes`, summed over
 * nodes), which the dashboard charts over hours and days: the buckets above serve the guards' windows
 * and are pruned within the hour, the minutes are kept as long as shadow outcomes.
 */
export interface EvidenceCount {
  readonly routeId: string;
  readonly bucket: number;
  readonly metric: string;
  readonly count: number;
}

/** A route and where its window starts, for a grouped read. */
export interface EvidenceWindow {
  readonly routeId: string;
  readonly fromMs: number;
}

export interface EvidenceStore {
  /**
   * True when a node's counts reach readers only once the judge has folded them (PostgreSQL: see
   * src/store/postgres/fleet-inbox.ts); false when a write is read back at once (SQLite).
   */
  readonly foldedByJudge: boolean;
  /** Adds a node's counts (deltas since its last flush), in one transaction. */
  add(nodeId: string, counts: readonly EvidenceCount[]): Promise<void>;
  /** The evidence of every node for buckets starting at or after `fromMs` (and before `toMs`). */
  summary(routeId: string, fromMs: number, toMs: number): Promise<EvidenceSummary>;
  /** `summary` for many routes and windows at once (one query on PostgreSQL), in the order asked. */
  summaries(windows: readonly EvidenceWindow[], toMs: number): Promise<EvidenceSummary[]>;
  /** Deletes buckets that started before `beforeMs`. */
  prune(beforeMs: number): Promise<void>;
  /** The route's traffic per minute (every node's), for minutes from `fromMinute` to before `toMinute`, oldest first; minutes without traffic are absent. */
  history(routeId: string, fromMinute: number, toMinute: number): Promise<TrafficMinute[]>;
  /** `history` for many routes at once (one query on PostgreSQL); a route without traffic has none in the map. */
  histories(routeIds: readonly string[], fromMinute: number, toMinute: number): Promise<Map<string, TrafficMinute[]>>;
  /** Deletes the history of minutes before `beforeMinute`. */
  pruneHistory(beforeMinute: number): Promise<void>;
}

/** One minute of a route's traffic, each side's requests, errors and latency estimates. */
export interface TrafficMinute {
  /** Minutes since the epoch. */
  readonly minute: number;
  readonly legacy: SideSummary;
  readonly target: SideSummary;
}

/** The metrics kept in the per-minute history: each side's requests, errors and latency buckets. */
export const isTrafficMetric = (metric: string): boolean => metric.startsWith("legacy.") || metric.startsWith("target.");

/** A count's minute: the minute its bucket starts in (buckets divide a minute: see fleet.evidenceBucketMs). */
export const minuteOf = (bucketMs: number): number => Math.floor(bucketMs / 60_000);

/** Rows of (minute, metric, count), ordered by minute, as one traffic summary per minute. */
export function historyOf(rows: ReadonlyArray<{ minute: number; metric: string; count: number }>): TrafficMinute[] {
  const out: TrafficMinute[] = [];
  let start = 0;
  for (let i = 1; i <= rows.length; i++) {
    if (i < rows.length && (rows[i] as { minute: number }).minute === (rows[start] as { minute: number }).minute) continue;
    const minute = (rows[start] as { minute: number }).minute;
    const s = summaryOf(rows.slice(start, i), minute * 60_000, (minute + 1) * 60_000);
    out.push({ minute, legacy: s.legacy, target: s.target });
    start = i;
  }
  return out;
}

/** Sums rows of (metric, count) into an evidence summary: the one reading of the metric names. */
export function summaryOf(rows: ReadonlyArray<{ metric: string; count: number }>, fromMs: number, toMs: number): EvidenceSummary {
  const acc = emptyCounts();
  for (const { metric, count } of rows) {
    const [first, second, third] = metric.split(".");
    if ((first === "legacy" || first === "target") && second !== undefined) {
      const s = acc[first];
      if (second === "requests") s.requests += count;
      else if (second === "errors") s.errors += count;
      else if (second === "le" && third !== undefined && Number(third) < s.latency.length) (s.latency[Number(third)] as number) += count;
    } else if (first === "compared" || first === "diverged" || first === "fallbacks") acc[first] += count;
    else if (first === "shadow_errors") acc.shadowErrors += count;
  }
  return summaryFrom(acc, fromMs, toMs);
}

/** Evidence counts in the SQLite file: the processes of one host judge their sum. */
export function createSqliteEvidenceStore(db: Database.Database): EvidenceStore {
  const upsert = db.prepare(
    `INSERT INTO evidence_counts (node_id, route_id, bucket, metric, count) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (route_id, bucket, metric, node_id) DO UPDATE SET count = count + excluded.count`,
  );
  const addMinute = db.prepare(
    `INSERT INTO traffic_minutes (route_id, minute, metric, count) VALUES (?, ?, ?, ?)
     ON CONFLICT (route_id, minute, metric) DO UPDATE SET count = count + excluded.count`,
  );
  const add = db.transaction((nodeId: string, counts: readonly EvidenceCount[]) => {
    for (const c of counts) {
      if (c.count === 0) continue;
      upsert.run(nodeId, c.routeId, c.bucket, c.metric, c.count);
      if (isTrafficMetric(c.metric)) addMinute.run(c.routeId, minuteOf(c.bucket), c.metric, c.count);
    }
  });
  const select = db.prepare("SELECT metric, sum(count) AS count FROM evidence_counts WHERE route_id = ? AND bucket >= ? AND bucket < ? GROUP BY metric");
  const selectHistory = db.prepare("SELECT minute, metric, count FROM traffic_minutes WHERE route_id = ? AND minute >= ? AND minute < ? ORDER BY minute");
  const summary = (routeId: string, fromMs: number, toMs: number) => summaryOf(select.all(routeId, fromMs, toMs) as Array<{ metric: string; count: number }>, fromMs, toMs);
  return {
    foldedByJudge: false,
    async add(nodeId, counts) {
      add.immediate(nodeId, counts);
    },
    summary: async (routeId, fromMs, toMs) => summary(routeId, fromMs, toMs),
    // In-process: a prepared statement per window costs what one grouped query would.
    summaries: async (windows, toMs) => windows.map((w) => summary(w.routeId, w.fromMs, toMs)),
    async prune(beforeMs) {
      db.prepare("DELETE FROM evidence_counts WHERE bucket < ?").run(beforeMs);
    },
    async history(routeId, fromMinute, toMinute) {
      return historyOf(selectHistory.all(routeId, fromMinute, toMinute) as Array<{ minute: number; metric: string; count: number }>);
    },
    histories: async (routeIds, fromMinute, toMinute) =>
      new Map(routeIds.map((id) => [id, historyOf(selectHistory.all(id, fromMinute, toMinute) as Array<{ minute: number; metric: string; count: number }>)])),
    async pruneHistory(beforeMinute) {
      db.prepare("DELETE FROM traffic_minutes WHERE minute < ?").run(beforeMinute);
    },
  };
}
