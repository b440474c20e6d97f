import type { Logger } from "pino";
import type { EvidenceCount, EvidenceStore, EvidenceWindow } from "../store/evidence-store.ts";
import type { Clock } from "./clock.ts";
import { emptyCounts, type EvidenceCounts, type EvidenceSummary } from "./evidence-summary.ts";
import { latencyBucket } from "./statistics.ts";
import { flushEvery } from "../store/flush-timer.ts";

/** Where guards and promotion read their evidence. */
export interface EvidenceSource {
  /** Evidence from `fromMs` to now: every node's, as far as the store has it (see `settle`). */
  summary(routeId: string, fromMs: number): Promise<EvidenceSummary>;
  /** `summary` for many routes at once: one read of the store, whatever their number. */
  summaries(windows: readonly EvidenceWindow[]): Promise<EvidenceSummary[]>;
  /**
   * Brings the store up to this moment for a judgement: this node's deltas written, and (PostgreSQL) the
   * fleet's inbox folded. The judge calls it once before each evaluation of every route.
   */
  settle(): Promise<void>;
}

export interface FleetEvidenceOptions {
  readonly store: EvidenceStore;
  readonly nodeId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Width of a stored time bucket. Default 5000 ms. */
  readonly bucketMs?: number;
  /** Counts not yet written (the store is down) are kept this long, then dropped. Default 1 h. */
  readonly maxPendingMs?: number;
  /** Folds what the fleet's nodes wrote (`Stores.fold`), before a judgement; nothing by default. */
  readonly fold?: () => Promise<unknown>;
}

/**
 * This node's evidence on its way to the store, and the fleet's sum read back. The hot path only adds to
 * counters in memory (a few map lookups); every `flushMs` the deltas go to the store in one
 * transaction, one row per (route, bucket, metric) that changed, so the guards of whichever node judges
 * see the traffic of every node (and of every worker process of a host). A failed write keeps its deltas
 * for the next one, up to `maxPendingMs`; each delta is added once, never twice.
 */
export class FleetEvidence implements EvidenceSource {
  /** Per route, per bucket start, the counts not yet written. */
  #pending = new Map<string, Map<number, EvidenceCounts>>();
  #writing: Promise<void> = Promise.resolve();
  #failing = false;
  readonly bucketMs: number;
  readonly #maxPendingMs: number;
  /** Deltas dropped because the store stayed down past `maxPendingMs` (counted in requests, comparisons…). */
  dropped = 0;

  constructor(private readonly options: FleetEvidenceOptions) {
    this.bucketMs = options.bucketMs ?? 5_000;
    this.#maxPendingMs = options.maxPendingMs ?? 3_600_000;
  }

  #counts(routeId: string): EvidenceCounts {
    const now = this.options.clock.now();
    const start = now - (now % this.bucketMs);
    let buckets = this.#pending.get(routeId);
    if (!buckets) this.#pending.set(routeId, (buckets = new Map()));
    let counts = buckets.get(start);
    if (!counts) buckets.set(start, (counts = emptyCounts()));
    return counts;
  }

  /** One answered request; `error` for a 5xx answer or a transport failure. */
  request(routeId: string, side: "legacy" | "target", error: boolean, ms: number): void {
    const s = this.#counts(routeId)[side];
    s.requests++;
    if (error) s.errors++;
    const i = latencyBucket(ms);
    (s.latency[i] as number)++;
  }

  shadow(routeId: string, outcome: "match" | "diverge" | "error"): void {
    const c = this.#counts(routeId);
    if (outcome === "error") c.shadowErrors++;
    else {
      c.compared++;
      if (outcome === "diverge") c.diverged++;
    }
  }

  fallback(routeId: string): void {
    this.#counts(routeId).fallbacks++;
  }

  /** Writes the pending deltas now (after any write already under way). */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  async #write(): Promise<void> {
    const batch = this.#pending;
    if (batch.size === 0) return;
    this.#pending = new Map();
    const rows = rowsOf(batch);
    try {
      await this.options.store.add(this.options.nodeId, rows);
      if (this.#failing) this.options.logger.info("evidence reaches the store again");
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) this.options.logger.warn({ err: (error as Error).message }, "could not write evidence to the store; keeping it for the next flush");
      this.#failing = true;
      this.#keep(batch);
    }
  }

  /** Puts an unwritten batch back under what arrived meanwhile, dropping buckets older than `maxPendingMs`. */
  #keep(batch: Map<string, Map<number, EvidenceCounts>>): void {
    const oldest = this.options.clock.now() - this.#maxPendingMs;
    for (const [routeId, buckets] of batch) {
      for (const [start, counts] of buckets) {
        if (start < oldest) {
          this.dropped += counts.legacy.requests + counts.target.requests + counts.compared + counts.shadowErrors + counts.fallbacks;
          continue;
        }
        let into = this.#pending.get(routeId);
        if (!into) this.#pending.set(routeId, (into = new Map()));
        const current = into.get(start);
        into.set(start, current ? added(current, counts) : counts);
      }
    }
  }

  /** Flushes every `flushMs` until stopped; the last flush runs on stop. */
  start(flushMs: number): () => Promise<void> {
    return flushEvery(() => this.flush(), flushMs);
  }

  /**
   * The fleet's evidence from the start of the bucket holding `fromMs` (the summary's `fromMs`) to now.
   * Where a write is read back at once (SQLite), this node's own deltas are flushed first, so a process
   * sees everything it has seen; on PostgreSQL a read waits for no write: it sees the judge's last fold
   * (the judge settles before judging).
   */
  async summary(routeId: string, fromMs: number): Promise<EvidenceSummary> {
    return (await this.summaries([{ routeId, fromMs }]))[0] as EvidenceSummary;
  }

  async summaries(windows: readonly EvidenceWindow[]): Promise<EvidenceSummary[]> {
    if (!this.options.store.foldedByJudge) await this.flush();
    const now = this.options.clock.now();
    const aligned = windows.map((w) => ({ routeId: w.routeId, fromMs: w.fromMs - (((w.fromMs % this.bucketMs) + this.bucketMs) % this.bucketMs) }));
    const read = await this.options.store.summaries(aligned, now + 1);
    return read.map((s, i) => ({ ...s, fromMs: (aligned[i] as EvidenceWindow).fromMs, toMs: now }));
  }

  async settle(): Promise<void> {
    await this.flush();
    await this.options.fold?.();
  }
}

/** The metric rows of a batch: only counts that moved (see EvidenceStore for the names). */
export function rowsOf(batch: ReadonlyMap<string, ReadonlyMap<number, EvidenceCounts>>): EvidenceCount[] {
  const rows: EvidenceCount[] = [];
  for (const [routeId, buckets] of batch) {
    for (const [bucket, c] of buckets) {
      const push = (metric: string, count: number) => {
        if (count !== 0) rows.push({ routeId, bucket, metric, count });
      };
      for (const side of ["legacy", "target"] as const) {
        push(`${side}.requests`, c[side].requests);
        push(`${side}.errors`, c[side].errors);
        c[side].latency.forEach((n, i) => push(`${side}.le.${i}`, n));
      }
      push("compared", c.compared);
      push("diverged", c.diverged);
      push("shadow_errors", c.shadowErrors);
      push("fallbacks", c.fallbacks);
    }
  }
  return rows;
}

function added(a: EvidenceCounts, b: EvidenceCounts): EvidenceCounts {
  const sum = emptyCounts();
  for (const side of ["legacy", "target"] as const) {
    sum[side].requests = a[side].requests + b[side].requests;
    sum[side].errors = a[side].errors + b[side].errors;
    sum[side].latency.forEach((_, i) => ((sum[side].latency[i] as number) = (a[side].latency[i] as number) + (b[side].latency[i] as number)));
  }
  sum.compared = a.compared + b.compared;
  sum.diverged = a.diverged + b.diverged;
  sum.shadowErrors = a.shadowErrors + b.shadowErrors;
  sum.fallbacks = a.fallbacks + b.fallbacks;
  return sum;
}
