import type { ByteArena } from "./byte-arena.ts";

/**
 * A body kept up to a byte limit, in a block of the shadow arena; released once. Chunks are copied as
 * they arrive into the block (sized from Content-Length when known, else grown by doubling), so no large
 * concatenation ever runs in one turn of the event loop, and the comparison worker can read the bytes
 * where they are.
 */
export class BoundedCapture {
  #buffer: Buffer | undefined;
  #size = 0;
  #released = false;
  #growth: Array<() => void> = [];
  /** Set when the body was longer than the limit: what was kept is a prefix. */
  truncated = false;
  /** Set when the arena had no room: the capture is unusable. */
  overBudget = false;

  constructor(
    private readonly limit: number,
    private readonly arena: ByteArena,
  ) {}

  get size(): number {
    return this.#size;
  }

  /** Calls `listener` after each chunk kept (a MirrorCapture waiting for these bytes). */
  onGrowth(listener: () => void): void {
    this.#growth.push(listener);
  }

  /** Reserves room for a body of `bytes` (from Content-Length), so it is copied once. */
  expect(bytes: number): void {
    if (bytes > 0 && !this.#buffer) this.#grow(Math.min(bytes, this.limit));
  }

  #grow(capacity: number): boolean {
    const next = this.arena.alloc(capacity);
    if (!next) {
      // Unusable from now on: give back what it held at once, rather than when the response ends.
      this.overBudget = true;
      if (this.#buffer) this.arena.free(this.#buffer);
      this.#buffer = undefined;
      this.#size = 0;
      return false;
    }
    if (this.#buffer) {
      this.#buffer.copy(next, 0, 0, this.#size);
      this.arena.free(this.#buffer);
    }
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
    for (const listener of this.#growth) listener();
  }

  /**
   * Whether `chunk` is byte for byte what this capture holds at `offset` (false when it holds fewer bytes
   * than that): how a mirror checks its answer against this one without keeping a copy.
   */
  holdsAt(offset: number, chunk: Buffer): boolean {
    const end = offset + chunk.length;
    return end <= this.#size && (this.#buffer as Buffer).subarray(offset, end).equals(chunk);
  }

  /** The bytes kept: a view on this capture's block, valid until `release`. */
  bytes(): Buffer {
    return this.#buffer ? this.#buffer.subarray(0, this.#size) : Buffer.alloc(0);
  }

  /** Returns the block to the arena; the capture keeps nothing afterwards. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#growth = [];
    if (this.#buffer) this.arena.free(this.#buffer);
    this.#buffer = undefined;
  }
}
