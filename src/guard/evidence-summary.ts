import { LATENCY_BUCKETS_MS, quantileFromBuckets } from "./statistics.ts";

/** One backend side's traffic in a span of time. */
export interface SideSummary {
  readonly requests: number;
  /** 5xx answers and transport failures (refused, reset, timeout). */
  readonly errors: number;
  /** Estimated p50 and p99 latency in ms (bucket upper bounds), undefined without requests. */
  readonly p50Ms?: number | undefined;
  readonly p99Ms: number | undefined;
}

/** A route's evidence over a span: each side's traffic, shadow comparisons, fallbacks. */
export interface EvidenceSummary {
  readonly fromMs: number;
  readonly toMs: number;
  readonly legacy: SideSummary;
  readonly target: SideSummary;
  readonly shadow: { readonly compared: number; readonly diverged: number; readonly errors: number };
  readonly fallbacks: number;
}

/** One side's counts while a summary is being summed: requests, errors, latency bucket counts. */
export interface SideCounts {
  requests: number;
  errors: number;
  readonly latency: number[];
}

const emptySide = (): SideCounts => ({ requests: 0, errors: 0, latency: new Array<number>(LATENCY_BUCKETS_MS.length).fill(0) });

/** A route's counts while a summary is being summed: both sides, comparisons, fallbacks. */
export interface EvidenceCounts {
  readonly legacy: SideCounts;
  readonly target: SideCounts;
  compared: number;
  diverged: number;
  shadowErrors: number;
  fallbacks: number;
}

export const emptyCounts = (): EvidenceCounts => ({ legacy: emptySide(), target: emptySide(), compared: 0, diverged: 0, shadowErrors: 0, fallbacks: 0 });

/** Summed counts as the guards read them (the window's and the fleet store's alike). */
export function summaryFrom(counts: EvidenceCounts, fromMs: number, toMs: number): EvidenceSummary {
  return {
    fromMs,
    toMs,
    legacy: sideSummary(counts.legacy),
    target: sideSummary(counts.target),
    shadow: { compared: counts.compared, diverged: counts.diverged, errors: counts.shadowErrors },
    fallbacks: counts.fallbacks,
  };
}

/** A side's summed counts as the guards read them, with its p50 and p99 estimates. */
const sideSummary = (s: SideCounts): SideSummary => ({
  requests: s.requests,
  errors: s.errors,
  p50Ms: quantileFromBuckets(s.latency, 0.5),
  p99Ms: quantileFromBuckets(s.latency, 0.99),
});
