import { Buffer } from "node:buffer";
import { BoundedCapture, type BlockReader } from "./bounded-capture.ts";
import type { ByteArena } from "./byte-arena.ts";

/**
 * The capture of an answer expected to be the same bytes as another one (the shadow's and the noise
 * sample's, against the primary's): it shares the reference's block. Each chunk is checked against what
 * the block holds at its place and, while they agree, not kept again; bytes that arrive before the block
 * has them (the shadow is read as fast as its backend sends, the primary at the client's pace) are
 * written into the block after what it holds (`BoundedCapture.writeAhead`), and the primary's chunks are
 * then checked against them instead of copied. At the first difference the mirror keeps everything in a
 * BoundedCapture of its own (the agreed prefix copied from the block, then its own chunks), so a
 * differing answer is still there whole for the diff; when it is the reference that differs from bytes a
 * mirror wrote ahead, the reference tells the mirrors before it overwrites them (`beforeOverwrite`).
 *
 * So the common case of a migration, a large answer both backends give byte for byte, costs one copy of
 * whichever arrives first and one memcmp of the other as it passes, and the pair's verdict on the bodies
 * (`identical`) is known before the comparison starts: it neither compares the bodies again nor hands
 * them to the worker.
 *
 * Why copies into the arena rather than holding the chunks as they came: held chunks outlive
 * young-generation collections and cost more in collections than the copy does (`npm run bench`, 1 MB
 * shadowed: copying the primary was 5% cheaper in CPU per request than holding its chunks, twice).
 *
 * Invariant: without an own capture, this answer's bytes are the block's first `#verified` bytes.
 */
export class MirrorCapture implements BlockReader {
  /** Bytes known equal to the block's first ones (the reference's own, or bytes written ahead of them). */
  #verified = 0;
  /** Once the answers differ (or cannot be checked), everything is kept here. */
  #own: BoundedCapture | undefined;
  #expected = 0;
  #released = false;
  truncated = false;
  overBudget = false;

  constructor(
    private readonly limit: number,
    private readonly arena: ByteArena,
    private readonly reference: BoundedCapture,
  ) {
    reference.addReader(this);
  }

  get size(): number {
    return this.#own ? this.#own.size : this.#verified;
  }

  /** As BoundedCapture.expect. */
  expect(bytes: number): void {
    this.#expected = bytes;
    this.#own?.expect(bytes);
  }

  /** Whether the whole answer is byte for byte the reference's whole answer (as far as both were read). */
  get identical(): boolean {
    const reference = this.reference;
    return !this.#own && !this.#released && !this.truncated && !this.overBudget && this.#verified === reference.size && !reference.truncated && !reference.unusable;
  }

  add(chunk: Buffer): void {
    if (this.#released || this.overBudget || this.truncated) return;
    if (this.#own) {
      this.#own.add(chunk);
      this.truncated = this.#own.truncated;
      this.overBudget = this.#own.overBudget;
      return;
    }
    // Past the limit the pair is not compared at all (response_too_large): nothing more is worth keeping.
    if (chunk.length > this.limit - this.#verified) {
      this.truncated = true;
      return;
    }
    const reference = this.reference;
    let rest = chunk;
    // As much as the block already holds is checked at once, and not kept.
    const held = reference.matchHeld(this.#verified, rest);
    if (held < 0) return this.#keepEverything(rest);
    if (held > 0) {
      this.#verified += held;
      if (held === rest.length) return;
      rest = rest.subarray(held);
    }
    // Ahead of everything the block holds: written there, for the others to be checked against.
    if (reference.writeAhead(this.#verified, rest, this.#expected)) this.#verified += rest.length;
    else this.#keepEverything(rest);
  }

  /** The reference is about to overwrite its block from `from` on: bytes of this answer there are copied first. */
  beforeOverwrite(from: number): void {
    if (this.#verified > from) this.#keepEverything(undefined);
  }

  /** From now on this answer is kept whole: the agreed prefix (copied from the block), then `next`. */
  #keepEverything(next: Buffer | undefined): void {
    if (this.#own || this.#released || this.overBudget) return; // released: nothing may take arena memory again
    if (this.reference.unusable) {
      // The agreed prefix is gone with the reference's block; the pair is skipped as overload anyway.
      this.overBudget = true;
      return;
    }
    const own = new BoundedCapture(this.limit, this.arena);
    own.expect(this.#expected);
    if (this.#verified > 0) own.add(this.reference.prefix(this.#verified));
    if (next) own.add(next);
    this.#own = own;
    this.overBudget = own.overBudget;
    this.truncated = own.truncated;
  }

  /**
   * The bytes in one piece (the block's, while no difference made this answer keep its own), valid until
   * `release` (of both); empty, as BoundedCapture's, when nothing is kept (over budget, or released).
   */
  bytes(): Buffer {
    if (this.#own) return this.#own.bytes();
    if (this.#released || this.overBudget || this.reference.unusable) return Buffer.alloc(0);
    return this.reference.prefix(this.#verified);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#own?.release();
  }
}
