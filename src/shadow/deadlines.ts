import { performance } from "node:perf_hooks";
/** Something that must end by a deadline: told once when it is past. */
export interface Expiring {
  expire(): void;
}

/**
 * Deadlines swept by one timer rather than a timer each. Every shadowed request needs a last-resort
 * deadline (a session that cannot finish is abandoned, never leaked), far in the future and almost
 * never reached: a `setTimeout` and a `clearTimeout` per request cost Node's timer list an insertion and
 * a removal each time (they showed in the shadow's callgrind profile). Here an entry is a map insertion
 * and deletion, and one interval, running only while entries are held, expires what is past its time,
 * up to one interval late.
 */
export class Deadlines<T extends Expiring> {
  readonly #entries = new Map<T, number>();
  #timer: NodeJS.Timeout | undefined;

  /** Every 5 s by default: the deadlines are last resorts tens of seconds away, and a sweep walks every entry. */
  constructor(private readonly sweepEveryMs = 5_000) {}

  get size(): number {
    return this.#entries.size;
  }

  /** `item` expires once `performance.now()` is past `at`, unless deleted first. */
  add(item: T, at: number): void {
    this.#entries.set(item, at);
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#sweep(), this.sweepEveryMs);
      this.#timer.unref();
    }
  }

  delete(item: T): void {
    this.#entries.delete(item);
  }

  #sweep(): void {
    const now = performance.now();
    this.#entries.forEach((at, item) => {
      if (at > now) return;
      this.#entries.delete(item);
      item.expire();
    });
    if (this.#entries.size === 0) this.close();
  }

  /** Stops the sweep (it starts again with the next entry). */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
