/**
 * Wilson score interval upper bound of a proportion: with `failures` out of `trials`, the rate is below
 * this with the given confidence. Unlike the raw ratio, it stays high when there are few trials, so a
 * step is not taken on the strength of 3 clean samples. `z` is 1.96 for 95%, 2.576 for 99%.
 */
export function wilsonUpperBound(failures: number, trials: number, z = 1.96): number {
  if (trials <= 0) return 1;
  const p = failures / trials;
  const z2 = z * z;
  const centre = p + z2 / (2 * trials);
  const margin = z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return Math.min(1, (centre + margin) / (1 + z2 / trials));
}

/** The z score of a two-sided confidence level (0.9, 0.95, 0.99, 0.999); others are interpolated conservatively. */
export function zFor(confidence: number): number {
  if (confidence >= 0.999) return 3.291;
  if (confidence >= 0.99) return 2.576;
  if (confidence >= 0.95) return 1.96;
  if (confidence >= 0.9) return 1.645;
  return 1.282;
}

/**
 * Upper bounds (milliseconds) of the latency buckets the guards' evidence and the map count in: fine below
 * 20 ms, where a proxy's answers live (so 2 ms and 10 ms read apart), coarse up to 30 s. Changing them
 * needs a store migration: stored counts name buckets by index (see migration 7).
 */
export const LATENCY_BUCKETS_MS = [0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000, 10000, 30000, Infinity] as const;

/** The same bounds in seconds, for the Prometheus histograms (the last, infinite one is implied). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = LATENCY_BUCKETS_MS.filter((b) => Number.isFinite(b)).map((b) => b / 1000);

export function latencyBucket(ms: number): number {
  let i = 0;
  while (ms > (LATENCY_BUCKETS_MS[i] as number)) i++;
  return i;
}

/** A quantile estimated from bucket counts: the upper bound of the bucket where it falls. */
export function quantileFromBuckets(counts: readonly number[], q: number): number | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = Math.ceil(q * total);
  let seen = 0;
  // Stryker disable next-line EqualityOperator: equivalent — rank ≤ total, so the loop returns before it could read past the end
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] as number;
    if (seen >= rank) {
      const bound = LATENCY_BUCKETS_MS[i] as number;
      return Number.isFinite(bound) ? bound : (LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 2] as number) * 2;
    }
  }
  return undefined;
}
