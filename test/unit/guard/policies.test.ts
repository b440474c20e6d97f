import { describe, expect, it } from "vitest";
import { guardSchema, promoteSchema } from "../../../src/config/schema.ts";
import { ManualClock } from "../../../src/guard/clock.ts";
import type { EvidenceSummary } from "../../../src/guard/evidence-summary.ts";
import { evaluateGuard, evaluatePromotion } from "../../../src/guard/guard-policy.ts";
import { LATENCY_BUCKETS_MS, latencyBucket, quantileFromBuckets, wilsonUpperBound, zFor } from "../../../src/guard/statistics.ts";

function summary(over: Partial<{ target: Partial<EvidenceSummary["target"]>; legacy: Partial<EvidenceSummary["legacy"]>; shadow: Partial<EvidenceSummary["shadow"]> }> = {}): EvidenceSummary {
  return {
    fromMs: 0,
    toMs: 60_000,
    target: { requests: 0, errors: 0, p99Ms: undefined, ...over.target },
    legacy: { requests: 0, errors: 0, p99Ms: undefined, ...over.legacy },
    shadow: { compared: 0, diverged: 0, errors: 0, ...over.shadow },
    fallbacks: 0,
  };
}

describe("the z score of a confidence level", () => {
  it("is the two-sided value of the level at or below the one asked for", () => {
    expect([0.9995, 0.999, 0.995, 0.99, 0.97, 0.95, 0.92, 0.9, 0.8].map(zFor)).toEqual([3.291, 3.291, 2.576, 2.576, 1.96, 1.96, 1.645, 1.645, 1.282]);
  });
});

describe("latency buckets", () => {
  it("count a latency in the first bucket whose upper bound it does not exceed", () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(0.5)).toBe(0);
    expect(latencyBucket(1)).toBe(1);
    expect(latencyBucket(1.5)).toBe(2);
    // Fine where a proxy's answers live: 2 ms and 10 ms fall in different buckets, with three between.
    expect(latencyBucket(10) - latencyBucket(2)).toBe(4);
    expect(latencyBucket(100)).toBe(12);
    expect(latencyBucket(30_001)).toBe(LATENCY_BUCKETS_MS.length - 1);
  });

  it("estimate a quantile as the upper bound of the bucket where it falls, twice the last finite bound for the overflow", () => {
    const counts = new Array<number>(LATENCY_BUCKETS_MS.length).fill(0);
    expect(quantileFromBuckets(counts, 0.99)).toBeUndefined();
    counts[4] = 90; // ≤ 5 ms
    counts[16] = 9; // ≤ 500 ms
    counts[LATENCY_BUCKETS_MS.length - 1] = 1; // > 30 s
    expect(quantileFromBuckets(counts, 0.5)).toBe(5);
    expect(quantileFromBuckets(counts, 0.9)).toBe(5);
    expect(quantileFromBuckets(counts, 0.91)).toBe(500);
    expect(quantileFromBuckets(counts, 0.99)).toBe(500);
    expect(quantileFromBuckets(counts, 1)).toBe(60_000);
  });
});

describe("wilsonUpperBound", () => {
  it("matches known values and stays high with few trials", () => {
    expect(wilsonUpperBound(0, 0)).toBe(1);
    expect(wilsonUpperBound(0, 10)).toBeCloseTo(0.2775, 3);
    expect(wilsonUpperBound(0, 100)).toBeCloseTo(0.037, 3);
    expect(wilsonUpperBound(5, 100)).toBeCloseTo(0.1118, 3);
    expect(wilsonUpperBound(0, 3)).toBeGreaterThan(0.5);
  });
});

describe("evaluateGuard", () => {
  const guard = guardSchema.parse({ minSamples: 10, maxErrorRate: 0.1, maxP99Ratio: 2, maxDivergenceRate: 0.2 });

  it("waits without enough samples", () => {
    expect(evaluateGuard(guard, summary({ target: { requests: 5, errors: 5 } }))).toMatchObject({ verdict: "insufficient_data" });
  });
  it("trips on errors, latency relative to the monolith, or divergence, naming each", () => {
    const verdict = evaluateGuard(
      guard,
      summary({ target: { requests: 20, errors: 5, p99Ms: 500 }, legacy: { requests: 20, p99Ms: 100 }, shadow: { compared: 20, diverged: 10 } }),
    );
    expect(verdict.verdict).toBe("trip");
    expect(verdict.verdict === "trip" && verdict.reasons).toEqual([
      "error rate 25% > 10% over 20 requests (5 errors)",
      "p99 500 ms is 5.0× the monolith's 100 ms (limit 2×)",
      "divergence rate 50% > 20% over 20 comparisons (10 diverged)",
    ]);
  });
  it("passes healthy evidence", () => {
    expect(evaluateGuard(guard, summary({ target: { requests: 20, errors: 1, p99Ms: 100 }, legacy: { requests: 20, p99Ms: 100 } }))).toEqual({ verdict: "ok" });
  });
  it("a guard with no threshold is a config error", () => {
    expect(guardSchema.safeParse({ minSamples: 5 }).success).toBe(false);
  });
});

describe("evaluatePromotion", () => {
  const promote = promoteSchema.parse({ minSamples: 50, maxDivergenceRate: 0.05, maxErrorRate: 0.05 });
  it("advances only when the confidence bound is under the threshold, not the raw ratio", () => {
    expect(evaluatePromotion(promote, summary({ shadow: { compared: 40 }, target: { requests: 100 } }))).toMatchObject({ verdict: "insufficient_data" });
    // 1 in 60 is 1.7%, under 5%, but its 95% upper bound is about 8.9%: hold.
    expect(evaluatePromotion(promote, summary({ shadow: { compared: 60, diverged: 1 }, target: { requests: 100 } }))).toMatchObject({ verdict: "hold" });
    expect(evaluatePromotion(promote, summary({ shadow: { compared: 400, diverged: 2 }, target: { requests: 400 } }))).toEqual({ verdict: "advance" });
    expect(evaluatePromotion(promote, summary({ shadow: { compared: 400 }, target: { requests: 400, errors: 40 } }))).toMatchObject({ verdict: "hold" });
  });
  it("steps must rise and end at 100", () => {
    expect(promoteSchema.safeParse({ steps: [5, 1, 100] }).success).toBe(false);
    expect(promoteSchema.safeParse({ steps: [5, 50] }).success).toBe(false);
  });
});
