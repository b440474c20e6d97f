/**
 * A shared allowance of bytes that shadow captures may hold at once, so memory stays bounded whatever
 * the traffic: a capture that cannot take its next chunk gives up (and is counted as overload).
 */
export class ByteBudget {
  #used = 0;
  constructor(readonly limit: number) {}

  /** Takes `bytes` if they fit; false (and nothing taken) otherwise. */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

/**
 * A body kept up to a byte limit, charged to a budget; released once. Chunks are copied as they
 * arrive into one buffer of its own (sized from Content-Length when known, else grown by doubling), so
 * no large concatenation ever runs in one turn of the event loop, and a large result can be transferred
 * to a worker without copying.
 */
export class BoundedCapture {
  #buffer: Buffer | undefined;
  #size = 0;
  #charged = 0;
  #released = false;
  /** Set when the body was longer than the limit: what was kept is a prefix. */
  truncated = false;
  /** Set when the shared budget ran out: the capture is unusable. */
  overBudget = false;

  constructor(
    private readonly limit: number,
    private readonly budget: ByteBudget,
  ) {}

  get size(): number {
    return this.#size;
  }

  /** Reserves room for a body of `bytes` (from Content-Length), so it is copied once. */
  expect(bytes: number): void {
    if (bytes > 0 && !this.#buffer) this.#grow(Math.min(bytes, this.limit));
  }

  #grow(capacity: number): boolean {
    const extra = capacity - this.#charged;
    if (extra > 0 && !this.budget.take(extra)) {
      this.overBudget = true;
      return false;
    }
    this.#charged = Math.max(this.#charged, capacity);
    // allocUnsafe: a capacity of Buffer.poolSize / 2 or more gets an ArrayBuffer of its own (safe to
    // transfer, see comparer.ts); smaller ones come from the pool, cheaply, and are never transferred.
    const next = Buffer.allocUnsafe(capacity);
    if (this.#buffer) this.#buffer.copy(next, 0, 0, this.#size);
    this.#buffer = next;
    return true;
  }

  add(chunk: Buffer): void {
    if (this.#released || this.overBudget) return;
    const room = this.limit - this.#size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.truncated = true;
    const needed = this.#size + kept.length;
    if (!this.#buffer || needed > this.#buffer.length) {
      const capacity = Math.min(this.limit, Math.max(needed, (this.#buffer?.length ?? 0) * 2, 16 * 1024));
      if (!this.#grow(capacity)) return;
    }
    kept.copy(this.#buffer as Buffer, this.#size);
    this.#size = needed;
  }

  /** The bytes kept: a view on this capture's own buffer (transferable as a whole). */
  bytes(): Buffer {
    return this.#buffer ? this.#buffer.subarray(0, this.#size) : Buffer.alloc(0);
  }

  /** Returns the bytes to the budget; the capture keeps nothing afterwards. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.budget.give(this.#charged);
    this.#buffer = undefined;
  }
}
