import type { Logger } from "pino";
import type { EvidenceBatchItem, EvidenceRetention, ShadowRepository } from "../store/shadow-repository.ts";

/**
 * Writes comparison evidence in batches, off the hot path: items queue in memory and go to SQLite in one
 * transaction every `intervalMs`. The queue is bounded; past it, items are dropped and counted.
 */
export class EvidenceWriter {
  readonly #queue: EvidenceBatchItem[] = [];
  readonly #timer: NodeJS.Timeout;
  dropped = 0;

  constructor(
    private readonly repository: ShadowRepository,
    private readonly retention: () => EvidenceRetention,
    private readonly logger: Logger,
    private readonly maxQueued = 5_000,
    intervalMs = 200,
  ) {
    this.#timer = setInterval(() => this.flush(), intervalMs);
    this.#timer.unref();
  }

  push(item: EvidenceBatchItem): void {
    if (this.#queue.length >= this.maxQueued) {
      this.dropped++;
      return;
    }
    this.#queue.push(item);
  }

  /** Writes what is queued now. */
  flush(): void {
    if (this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, this.#queue.length);
    try {
      this.repository.writeBatch(batch, this.retention());
    } catch (error) {
      this.dropped += batch.length;
      this.logger.error({ err: (error as Error).message, items: batch.length }, "could not store shadow evidence");
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}
