import type { Logger } from "pino";
import type { EvidenceBatchItem, EvidenceRetention } from "../store/shadow-repository.ts";
import type { ShadowStore } from "../store/shadow-store.ts";

/** Items written in one transaction by the timer; a fuller queue is written over several turns. */
const ITEMS_PER_TURN = 1_000;

type Outcome = EvidenceBatchItem["outcome"];
const OUTCOMES: readonly Outcome[] = ["match", "diverge", "error", "skipped"];

/** A route's plain outcomes in one minute, not yet queued: counts by outcome, in OUTCOMES' order. */
interface MinuteCounts {
  minute: number;
  readonly counts: [number, number, number, number];
}

/** What the writer keeps: the repository's retention, and how many examples per signature a minute may bring. */
export interface EvidenceLimits extends EvidenceRetention {
  readonly examplesPerSignaturePerMinute: number;
}

/**
 * Writes comparison evidence in batches, off the hot path: items queue in memory and go to SQLite in one
 * transaction every `intervalMs`, summed by key (see the repository), so a route that diverges on every
 * request costs a few statements a tick, not a few per request. Counts stay exact; stored examples are
 * sampled, at most `examplesPerSignaturePerMinute` for each signature. The queue is bounded; past it,
 * items are dropped and counted. Retention's scans run every `pruneEveryMs`, not per batch.
 *
 * Plain outcomes (a match or a skip: no signature, no example, no noise sample; nearly every shadowed
 * request) are not queued one item each but counted per route and minute (`count`), and queued as one
 * counted item per outcome when the minute turns or a flush comes: an item and a key string per request
 * were most of the writer's cost per shadowed request (callgrind: ~5k instructions of ~240k).
 */
export class EvidenceWriter {
  readonly #queue: EvidenceBatchItem[] = [];
  /** Plain outcomes counted since they were last queued, by route (routes are config: bounded). */
  readonly #counted = new Map<string, MinuteCounts>();
  readonly #timer: NodeJS.Timeout;
  readonly #examplesThisMinute = new Map<string, number>();
  #minute = -1;
  #lastPrune = 0;
  #droppedLogged = 0;
  #lastDropLog = 0;
  /** Writes run one after another (a store may be a network database): each flush waits for the one before. */
  #writing: Promise<void> = Promise.resolve();
  dropped = 0;
  /** Examples left out by the per-minute sampling (their counts were kept). */
  examplesSampledOut = 0;

  constructor(
    private readonly store: ShadowStore,
    private readonly limits: () => EvidenceLimits,
    private readonly logger: Logger,
    private readonly maxQueued = 5_000,
    intervalMs = 200,
    private readonly pruneEveryMs = 10_000,
  ) {
    this.#timer = setInterval(() => void this.flush(ITEMS_PER_TURN), intervalMs);
    this.#timer.unref();
  }

  push(item: EvidenceBatchItem): void {
    if (item.signatures.length === 0 && item.example === undefined && item.noiseSample === undefined && item.count === undefined) {
      this.count(item.routeId, item.outcome, item.atMs);
      return;
    }
    this.#enqueue(item);
  }

  /** One plain outcome of a route (no signature, no example, no noise sample), at `atMs` (default now). */
  count(routeId: string, outcome: Outcome, atMs = Date.now()): void {
    const minute = Math.floor(atMs / 60_000);
    let counted = this.#counted.get(routeId);
    if (counted === undefined) this.#counted.set(routeId, (counted = { minute, counts: [0, 0, 0, 0] }));
    else if (counted.minute !== minute) {
      this.#queueCounted(routeId, counted);
      counted.minute = minute;
    }
    (counted.counts[OUTCOMES.indexOf(outcome)] as number)++;
  }

  #enqueue(item: EvidenceBatchItem): void {
    if (this.#queue.length >= this.maxQueued) {
      this.dropped += item.count ?? 1;
      return;
    }
    this.#queue.push(item);
  }

  /** A route's counted outcomes, queued as one counted item per outcome, and set back to zero. */
  #queueCounted(routeId: string, counted: MinuteCounts): void {
    const atMs = counted.minute * 60_000;
    for (let i = 0; i < OUTCOMES.length; i++) {
      const count = counted.counts[i] as number;
      if (count === 0) continue;
      counted.counts[i] = 0;
      this.#enqueue({ routeId, atMs, outcome: OUTCOMES[i] as Outcome, signatures: [], count });
    }
  }

  /**
   * True while one of these signatures has stored fewer examples this minute than allowed, and counts
   * the example against them. Asked before an example is rendered, so that a route diverging on every
   * request does not pay for examples it would not keep.
   */
  wantsExample(routeId: string, signatures: EvidenceBatchItem["signatures"]): boolean {
    const minute = Math.floor(Date.now() / 60_000);
    if (minute !== this.#minute) {
      this.#minute = minute;
      this.#examplesThisMinute.clear();
    }
    const allowed = this.limits().examplesPerSignaturePerMinute;
    let wanted = false;
    for (const { path, kind } of signatures) {
      const key = `${routeId}\u0000${path}\u0000${kind}`;
      const taken = this.#examplesThisMinute.get(key) ?? 0;
      if (taken < allowed) {
        wanted = true;
        this.#examplesThisMinute.set(key, taken + 1);
      }
    }
    if (!wanted) this.examplesSampledOut++;
    return wanted;
  }

  /**
   * Writes what is queued now (and prunes, when it is time). `chunk` bounds one transaction, so that one
   * turn of the event loop never carries more than that many items' work; the timer's ticks write at most
   * one chunk each and leave the rest for the next turn.
   */
  flush(chunk = Infinity): Promise<void> {
    this.#writing = this.#writing.then(() => this.#flushOnce(chunk));
    return this.#writing;
  }

  async #flushOnce(chunk: number): Promise<void> {
    const now = Date.now();
    for (const [routeId, counted] of this.#counted) this.#queueCounted(routeId, counted);
    if (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, Math.min(chunk, this.#queue.length));
      if (this.#queue.length > 0) setImmediate(() => void this.flush(chunk));
      try {
        await this.store.writeBatch(batch, this.limits());
      } catch (error) {
        let lost = 0;
        for (const item of batch) lost += item.count ?? 1;
        this.dropped += lost;
        this.logger.error({ err: (error as Error).message, items: lost }, "could not store shadow evidence");
      }
    }
    if (this.dropped > this.#droppedLogged && now - this.#lastDropLog >= 10_000) {
      this.logger.warn({ dropped: this.dropped - this.#droppedLogged, maxQueued: this.maxQueued }, "shadow evidence dropped: the write queue was full (shadowing.maxQueuedEvidence)");
      this.#droppedLogged = this.dropped;
      this.#lastDropLog = now;
    }
    if (now - this.#lastPrune >= this.pruneEveryMs) {
      this.#lastPrune = now;
      try {
        await this.store.prune(this.limits());
      } catch (error) {
        this.logger.error({ err: (error as Error).message }, "could not prune shadow evidence");
      }
    }
  }

  close(): Promise<void> {
    clearInterval(this.#timer);
    this.#lastPrune = 0;
    return this.flush();
  }
}
