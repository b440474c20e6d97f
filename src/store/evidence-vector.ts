import { LATENCY_BUCKETS_MS } from "../guard/statistics.ts";

/**
 * The evidence metrics in a fixed order, so that PostgreSQL keeps a route's bucket (or minute) as one row
 * holding one array of counts instead of one row per metric: the judge folds the fleet's deltas into
 * ~one row per active route, where rows per metric would be ~50 (issue 32). The order only ever grows at
 * the end: an older, shorter array reads as zeros past its end (see `strangler_add_counts`).
 */
export const EVIDENCE_METRICS: readonly string[] = [
  ...(["legacy", "target"] as const).flatMap((side) => [`${side}.requests`, `${side}.errors`, ...LATENCY_BUCKETS_MS.map((_, i) => `${side}.le.${i}`)]),
  "compared",
  "diverged",
  "shadow_errors",
  "fallbacks",
];

const INDEX = new Map(EVIDENCE_METRICS.map((name, i) => [name, i]));

/** A metric's place in the array, or undefined for a name this version does not know (it is not stored). */
export const metricIndex = (metric: string): number | undefined => INDEX.get(metric);

/** A fresh array of zeros, one per metric. */
export const emptyVector = (): number[] => new Array<number>(EVIDENCE_METRICS.length).fill(0);

/** The array's non-zero counts as (metric, count) rows: what the stores' shared `summaryOf` reads. */
export function vectorRows(vector: ReadonlyArray<number | string | null>): Array<{ metric: string; count: number }> {
  const rows: Array<{ metric: string; count: number }> = [];
  for (let i = 0; i < vector.length && i < EVIDENCE_METRICS.length; i++) {
    const count = Number(vector[i] ?? 0);
    if (count !== 0) rows.push({ metric: EVIDENCE_METRICS[i] as string, count });
  }
  return rows;
}

/**
 * SQL for migrating rows of (…, metric, count) to arrays: a VALUES list of (name, position), positions
 * from 1 as PostgreSQL's arrays count them.
 */
export const metricPositionsSql = (): string => EVIDENCE_METRICS.map((name, i) => `('${name}', ${i + 1})`).join(", ");

/**
 * The migration map's metrics in a fixed order (see MapCount): on PostgreSQL a template's hour is one
 * row holding one array, as the evidence's bucket is. Grows only at the end.
 */
export const MAP_METRICS: readonly string[] = ["requests", "legacy", "target", ...Array.from({ length: 6 }, (_, i) => `status.${i}`), ...LATENCY_BUCKETS_MS.map((_, i) => `le.${i}`), "bytes"];

const MAP_INDEX = new Map(MAP_METRICS.map((name, i) => [name, i]));

/** A map metric's place in the array, or undefined for a name this version does not know. */
export const mapMetricIndex = (metric: string): number | undefined => MAP_INDEX.get(metric);

/** SQL VALUES of (name, position) for the map's metrics, positions from 1. */
export const mapMetricPositionsSql = (): string => MAP_METRICS.map((name, i) => `('${name}', ${i + 1})`).join(", ");
