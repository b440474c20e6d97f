import type { Logger } from "pino";
import type { EvidenceBatchItem, EvidenceRetention } from "../store/shadow-repository.ts";
import type { ShadowStore } from "../store/shadow-store.ts";

/** Items written in one transaction by the timer; a fuller queue is written over several turns. */
const ITEMS_PER_TURN = 1_000;

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
 */
export class EvidenceWriter {
  readonly #queue: EvidenceBatchItem[] = [];
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
    if (this.#queue.length >= this.maxQueued) {
      this.dropped++;
      return;
    }
    this.#queue.push(item);
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
    if (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, Math.min(chunk, this.#queue.length));
      if (this.#queue.length > 0) setImmediate(() => void this.flush(chunk));
      try {
        await this.store.writeBatch(batch, this.limits());
      } catch (error) {
        this.dropped += batch.length;
        this.logger.error({ err: (error as Error).message, items: batch.length }, "could not store shadow evidence");
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
