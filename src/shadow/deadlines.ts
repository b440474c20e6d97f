import { performance } from "node:perf_hooks";
/** Something that must end by a deadline: told once when it is past. */
export interface Expiring {
  expire(): void;
}

/** One held deadline: what `add` returns and `delete` takes. */
export interface DeadlineEntry<T> {
  readonly item: T;
  readonly at: number;
  /** Neighbours in the list; both undefined once the entry is out of it. */
  previous: DeadlineEntry<T> | undefined;
  next: DeadlineEntry<T> | undefined;
}

/**
 * Deadlines swept by one timer rather than a timer each. Every shadowed request needs a last-resort
 * deadline (a session that cannot finish is abandoned, never leaked), far in the future and almost
 * never reached: a `setTimeout` and a `clearTimeout` per request cost Node's timer list an insertion and
 * a removal each time, and a Map keyed by the session (the version before this one) cost ~500
 * instructions a request in `Map.set` alone, hashing a new object each time (callgrind). Here an entry
 * is a small object linked into a list, taken out by its neighbours' two fields; one interval, running only
 * while entries are held, expires what is past its time, up to one interval late.
 */
export class Deadlines<T extends Expiring> {
  #first: DeadlineEntry<T> | undefined;
  #last: DeadlineEntry<T> | undefined;
  #size = 0;
  #timer: NodeJS.Timeout | undefined;

  /** Every 5 s by default: the deadlines are last resorts tens of seconds away, and a sweep walks every entry. */
  constructor(private readonly sweepEveryMs = 5_000) {}

  get size(): number {
    return this.#size;
  }

  /** `item` expires once `performance.now()` is past `at`, unless its entry is deleted first. */
  add(item: T, at: number): DeadlineEntry<T> {
    const entry: DeadlineEntry<T> = { item, at, previous: this.#last, next: undefined };
    if (this.#last) this.#last.next = entry;
    else this.#first = entry;
    this.#last = entry;
    this.#size++;
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#sweep(), this.sweepEveryMs);
      this.#timer.unref();
    }
    return entry;
  }

  /** Takes an entry out (again: nothing happens). */
  delete(entry: DeadlineEntry<T>): void {
    const { previous, next } = entry;
    if (previous === undefined && next === undefined && this.#first !== entry) return; // already out
    if (previous) previous.next = next;
    else this.#first = next;
    if (next) next.previous = previous;
    else this.#last = previous;
    entry.previous = undefined;
    entry.next = undefined;
    this.#size--;
  }

  #sweep(): void {
    const now = performance.now();
    let entry = this.#first;
    while (entry) {
      const next = entry.next;
      if (entry.at <= now) {
        this.delete(entry);
        entry.item.expire();
      }
      entry = next;
    }
    if (this.#size === 0) this.close();
  }

  /** Stops the sweep (it starts again with the next entry). */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
