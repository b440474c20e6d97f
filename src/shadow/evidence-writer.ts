import { coarseNowMs } from "./coarse-clock.ts";
import type { Logger } from "pino";
import type { EvidenceBatchItem, EvidenceRetention } from "../store/shadow-repository.ts";
import type { ShadowStore } from "../store/shadow-store.ts";

/** Items written in one transaction by the timer; a fuller queue is written over several turns. */
const ITEMS_PER_TURN = 1_000;

type Outcome = EvidenceBatchItem["outcome"];
type Signature = EvidenceBatchItem["signatures"][number];
const OUTCOMES: readonly Outcome[] = ["match", "diverge", "error", "skipped"];

/** A route's plain outcomes in one minute, not yet queued: counts by outcome, in OUTCOMES' order. */
interface MinuteCounts {
  minute: number;
  readonly counts: [number, number, number, number];
}

/**
 * A route's comparisons in one minute with the same outcome and one signature, and nothing else to store
 * (no example, no noise sample): a diverging route's usual result, not yet queued.
 */
interface SignedTally {
  readonly minute: number;
  readonly outcome: Outcome;
  n: number;
  readonly firstMs: number;
  lastMs: number;
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
 * were most of the writer's cost per shadowed request (callgrind: ~5k instructions of ~240k). So are a
 * route's results with one signature and nothing else to store (a route that diverges the same way on
 * every request), tallied per signature and queued as one counted item each when a flush comes.
 */
export class EvidenceWriter {
  readonly #queue: EvidenceBatchItem[] = [];
  /** Plain outcomes counted since they were last queued, by route (routes are config: bounded). */
  readonly #counted = new Map<string, MinuteCounts>();
  /** Single-signature results tallied since they were last queued: route → signature path → kind. */
  readonly #signed = new Map<string, Map<string, Map<string, SignedTally>>>();
  /** Tallies held in #signed: they count against the queue's bound, as the items they stand for would. */
  #signedTallies = 0;
  readonly #timer: NodeJS.Timeout;
  /** Examples taken this minute: route → signature path → kind → count (nested: no key string per result). */
  readonly #examplesThisMinute = new Map<string, Map<string, Map<string, number>>>();
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
    if (item.example === undefined && item.noiseSample === undefined && item.count === undefined) {
      if (item.signatures.length === 0) return this.count(item.routeId, item.outcome, item.atMs);
      if (item.signatures.length === 1) return this.countSigned(item.routeId, item.outcome, item.signatures[0] as Signature, item.atMs);
    }
    this.#enqueue(item);
  }

  /** One result of a route with this one signature and nothing else to store, at `atMs` (default now). */
  countSigned(routeId: string, outcome: Outcome, signature: Signature, atMs = Date.now()): void {
    const minute = Math.floor(atMs / 60_000);
    let byPath = this.#signed.get(routeId);
    if (byPath === undefined) this.#signed.set(routeId, (byPath = new Map()));
    let byKind = byPath.get(signature.path);
    if (byKind === undefined) byPath.set(signature.path, (byKind = new Map()));
    const tally = byKind.get(signature.kind);
    if (tally !== undefined && tally.minute === minute && tally.outcome === outcome) {
      tally.n++;
      if (atMs > tally.lastMs) tally.lastMs = atMs;
      return;
    }
    // Another minute or outcome: what was tallied is queued, and a new tally starts.
    if (tally !== undefined) {
      this.#queueSigned(routeId, signature.path, signature.kind, tally);
      this.#signedTallies--;
    }
    if (this.#queue.length + this.#signedTallies >= this.maxQueued) {
      byKind.delete(signature.kind);
      this.dropped++;
      return;
    }
    byKind.set(signature.kind, { minute, outcome, n: 1, firstMs: atMs, lastMs: atMs });
    this.#signedTallies++;
  }

  #queueSigned(routeId: string, path: string, kind: string, tally: SignedTally): void {
    this.#enqueue({ routeId, atMs: tally.lastMs, firstMs: tally.firstMs, outcome: tally.outcome, signatures: [{ path, kind }], count: tally.n });
  }

  /** Every tally queued (see countSigned), and the tallies emptied. */
  #queueAllSigned(): void {
    for (const [routeId, byPath] of this.#signed) {
      for (const [path, byKind] of byPath) for (const [kind, tally] of byKind) this.#queueSigned(routeId, path, kind, tally);
    }
    this.#signed.clear();
    this.#signedTallies = 0;
  }

  /** One plain outcome of a route (no signature, no example, no noise sample), at `atMs` (default now, to the second). */
  count(routeId: string, outcome: Outcome, atMs = coarseNowMs()): void {
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
    let byPath = this.#examplesThisMinute.get(routeId);
    if (byPath === undefined) this.#examplesThisMinute.set(routeId, (byPath = new Map()));
    for (const { path, kind } of signatures) {
      let byKind = byPath.get(path);
      if (byKind === undefined) byPath.set(path, (byKind = new Map()));
      const taken = byKind.get(kind) ?? 0;
      if (taken < allowed) {
        wanted = true;
        byKind.set(kind, taken + 1);
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
    this.#queueAllSigned();
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
    if (!this.store.foldedByJudge && now - this.#lastPrune >= this.pruneEveryMs) {
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
