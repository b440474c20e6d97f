/**
 * A shared allowance of bytes that shadow captures may hold at once, so memory stays bounded whatever
 * the traffic: a capture that cannot take its next chunk gives up (and is counted as overload).
 */
export class ByteBudget {
  #used = 0;
  constructor(readonly limit: number) {}

  get used(): number {
    return this.#used;
  }

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

/** Chunks collected up to a byte limit, charged to a budget; released once. */
export class BoundedCapture {
  readonly #chunks: Buffer[] = [];
  #size = 0;
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

  add(chunk: Buffer): void {
    if (this.#released || this.overBudget) return;
    const room = this.limit - this.#size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.truncated = true;
    if (!this.budget.take(kept.length)) {
      this.overBudget = true;
      return;
    }
    this.#chunks.push(kept);
    this.#size += kept.length;
  }

  /** The bytes kept, as one buffer. */
  bytes(): Buffer {
    return this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#size);
  }

  /** Returns the bytes to the budget; the capture keeps nothing afterwards. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.budget.give(this.#size);
    this.#chunks.length = 0;
  }
}
