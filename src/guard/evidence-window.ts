import type { Clock } from "./clock.ts";
import { LATENCY_BUCKETS_MS, latencyBucket, quantileFromBuckets } from "./statistics.ts";

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

interface Bucket {
  readonly start: number;
  readonly requests: [number, number];
  readonly errors: [number, number];
  readonly latency: [number[], number[]];
  compared: number;
  diverged: number;
  shadowErrors: number;
  fallbacks: number;
}

const SIDE = { legacy: 0, target: 1 } as const;

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

/**
 * Per-route evidence in time buckets (default 1 s), kept for `retentionMs`, for the guards and the
 * promotion loop. In memory and per process: each process judges by the traffic it saw.
 */
export class EvidenceWindow {
  readonly #routes = new Map<string, Bucket[]>();

  constructor(
    private readonly clock: Clock,
    private readonly bucketMs = 1_000,
    private readonly retentionMs = 3_600_000,
  ) {}

  #bucket(routeId: string): Bucket {
    const now = this.clock.now();
    const start = now - (now % this.bucketMs);
    let buckets = this.#routes.get(routeId);
    if (!buckets) this.#routes.set(routeId, (buckets = []));
    let last = buckets[buckets.length - 1];
    if (!last || last.start !== start) {
      last = {
        start,
        requests: [0, 0],
        errors: [0, 0],
        latency: [new Array<number>(LATENCY_BUCKETS_MS.length).fill(0), new Array<number>(LATENCY_BUCKETS_MS.length).fill(0)],
        compared: 0,
        diverged: 0,
        shadowErrors: 0,
        fallbacks: 0,
      };
      buckets.push(last);
      while (buckets.length > 0 && (buckets[0] as Bucket).start < now - this.retentionMs) buckets.shift();
    }
    return last;
  }

  /** One answered request; `error` for a 5xx answer or a transport failure. */
  request(routeId: string, side: "legacy" | "target", error: boolean, ms: number): void {
    const b = this.#bucket(routeId);
    const i = SIDE[side];
    b.requests[i]++;
    if (error) b.errors[i]++;
    const counts = b.latency[i];
    counts[latencyBucket(ms)] = (counts[latencyBucket(ms)] ?? 0) + 1;
  }

  shadow(routeId: string, outcome: "match" | "diverge" | "error"): void {
    const b = this.#bucket(routeId);
    if (outcome === "error") b.shadowErrors++;
    else {
      b.compared++;
      if (outcome === "diverge") b.diverged++;
    }
  }

  fallback(routeId: string): void {
    this.#bucket(routeId).fallbacks++;
  }

  /** Evidence from `fromMs` (inclusive) to now. */
  summary(routeId: string, fromMs: number): EvidenceSummary {
    const toMs = this.clock.now();
    const acc = emptyCounts();
    for (const b of this.#routes.get(routeId) ?? []) {
      if (b.start + this.bucketMs <= fromMs) continue;
      for (const [name, i] of Object.entries(SIDE) as Array<["legacy" | "target", 0 | 1]>) {
        acc[name].requests += b.requests[i];
        acc[name].errors += b.errors[i];
        b.latency[i].forEach((n, k) => ((acc[name].latency[k] as number) += n));
      }
      acc.compared += b.compared;
      acc.diverged += b.diverged;
      acc.shadowErrors += b.shadowErrors;
      acc.fallbacks += b.fallbacks;
    }
    return summaryFrom(acc, fromMs, toMs);
  }

}
