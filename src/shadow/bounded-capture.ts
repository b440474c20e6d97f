import { Buffer } from "node:buffer";
import { copyIntoArena, type ByteArena } from "./byte-arena.ts";

/** Told before a capture's block is overwritten from `from` on: a mirror that read those bytes takes its copy. */
export interface BlockReader {
  beforeOverwrite(from: number): void;
}

/**
 * A body kept up to a byte limit, in a block of the shadow arena; released once. Chunks are copied as
 * they arrive into the block (sized from Content-Length when known, else grown by doubling), so no large
 * concatenation ever runs in one turn of the event loop, and the comparison worker can read the bytes
 * where they are.
 *
 * The block is shared with the mirrors of this answer (mirror-capture.ts): a mirror that gets bytes
 * before this capture does writes them after this capture's own (`writeAhead`), and this capture's
 * chunks are then checked against them instead of copied. So of two answers that are the same bytes,
 * whichever arrives first is copied once, and the other is only compared. Where this capture's bytes
 * differ from those written ahead, the mirrors that read them are told first (`beforeOverwrite`) and
 * take their own copies, then this capture's bytes replace them.
 */
export class BoundedCapture {
  #buffer: Buffer | undefined;
  #size = 0;
  /** The bytes the block holds: this capture's own (`#size`), then any a mirror wrote ahead of them. */
  #filled = 0;
  #released = false;
  #readers: BlockReader[] = [];
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

  /** Whether the bytes this capture holds are unusable or gone (over budget, or released). */
  get unusable(): boolean {
    return this.overBudget || this.#released;
  }

  /** Registers a mirror that reads this block, to be told before bytes it read are overwritten. */
  addReader(reader: BlockReader): void {
    this.#readers.push(reader);
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
      this.#filled = 0;
      return false;
    }
    if (this.#buffer) {
      this.#buffer.copy(next, 0, 0, this.#filled);
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
    let kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.truncated = true;
    if (this.#filled > this.#size) {
      // A mirror wrote these bytes first: the same ones are only checked, not copied again.
      const ahead = this.matchHeld(this.#size, kept);
      if (ahead >= 0) {
        this.#size += ahead;
        if (ahead === kept.length) return;
        kept = kept.subarray(ahead);
      } else {
        // They differ: whoever read past this point keeps its own copy before it is overwritten.
        for (const reader of this.#readers) reader.beforeOverwrite(this.#size);
        this.#filled = this.#size;
      }
    }
    const needed = this.#size + kept.length;
    if (!this.#ensure(needed, 0)) return;
    copyIntoArena(kept, this.#buffer as Buffer, this.#size);
    this.#size = needed;
    this.#filled = needed;
  }

  /**
   * A mirror's bytes that arrived before this capture's own, appended after everything the block holds
   * (`offset` must be where those end); `expected` is the mirror's whole length, when known, to size the
   * block. False when they cannot be kept here (over the limit, out of budget, released, truncated).
   */
  writeAhead(offset: number, chunk: Buffer, expected: number): boolean {
    const needed = offset + chunk.length;
    if (this.#released || this.overBudget || this.truncated || offset !== this.#filled || needed > this.limit) return false;
    if (!this.#ensure(needed, expected)) return false;
    copyIntoArena(chunk, this.#buffer as Buffer, offset);
    this.#filled = needed;
    return true;
  }

  /** Room in the block for `needed` bytes (at least `expected`, when a mirror knows its length). */
  #ensure(needed: number, expected: number): boolean {
    if (this.#buffer && needed <= this.#buffer.length) return true;
    const capacity = Math.min(this.limit, Math.max(needed, expected, (this.#buffer?.length ?? 0) * 2, 16 * 1024));
    if (!this.#grow(capacity)) {
      // The mirrors' bytes written ahead went with the block.
      for (const reader of this.#readers) reader.beforeOverwrite(0);
      return false;
    }
    return true;
  }

  /**
   * How many of `chunk`'s first bytes the block already holds from `offset` on, all of them equal: that
   * count (0 when it holds nothing there), or -1 when they differ. How an answer is checked against bytes
   * another one put in the block first (this capture against a mirror's written ahead, a mirror against
   * this capture's), without being copied.
   */
  matchHeld(offset: number, chunk: Buffer): number {
    const held = Math.min(this.#filled - offset, chunk.length);
    if (held <= 0) return 0;
    // Compared in place (one call into the binding): a view per side cost two typed arrays per chunk.
    return chunk.compare(this.#buffer as Buffer, offset, offset + held, 0, held) === 0 ? held : -1;
  }

  /** The block's first `bytes` bytes (at most `filled`): a mirror's answer where it is the block's. */
  prefix(bytes: number): Buffer {
    return this.#buffer && bytes <= this.#filled ? this.#buffer.subarray(0, bytes) : Buffer.alloc(0);
  }

  /** The bytes kept: a view on this capture's block, valid until `release`. */
  bytes(): Buffer {
    return this.#buffer ? this.#buffer.subarray(0, this.#size) : Buffer.alloc(0);
  }

  /** Returns the block to the arena; the capture keeps nothing afterwards. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#readers = [];
    this.#filled = 0;
    if (this.#buffer) this.arena.free(this.#buffer);
    this.#buffer = undefined;
  }
}
