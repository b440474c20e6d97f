import { BoundedCapture } from "./bounded-capture.ts";
import type { ByteArena } from "./byte-arena.ts";

/**
 * The capture of an answer expected to be the same bytes as another one (the shadow's and the noise
 * sample's, against the primary's): each chunk is checked against the reference as it arrives and, while
 * they agree, not kept at all. A chunk that arrives before the reference has those bytes waits, held by
 * reference and counted against the arena's limit, until the reference catches up. At the first
 * difference the mirror starts keeping everything in a BoundedCapture of its own (the agreed prefix copied
 * from the reference, then its own chunks), so a differing answer is still there whole for the diff.
 *
 * So the common case of a migration, a large answer both backends give byte for byte, costs one memcmp
 * as the bytes pass and no second copy, and the pair's verdict on the bodies (`identical`) is known
 * before the comparison starts: it neither compares the bodies again nor hands them to the worker.
 *
 * Why the reference itself is copied into the arena rather than held as the chunks it came in: held
 * chunks outlive scavenges and cost more in collections than the copy does (`npm run bench`, 1 MB
 * shadowed, two runs: copying was 5% cheaper in CPU per request and lower in p99).
 */
export class MirrorCapture {
  /** Bytes known equal to the reference's first ones, and not kept. */
  #verified = 0;
  /** Chunks ahead of the reference, held until it has those bytes. */
  #waiting: Buffer[] = [];
  #waitingBytes = 0;
  /** Once the answers differ (or cannot be checked), everything is kept here. */
  #own: BoundedCapture | undefined;
  #released = false;
  truncated = false;
  overBudget = false;

  constructor(
    private readonly limit: number,
    private readonly arena: ByteArena,
    private readonly reference: BoundedCapture,
  ) {
    reference.onGrowth(() => this.#check());
  }

  get size(): number {
    return this.#own ? this.#own.size : this.#verified + this.#waitingBytes;
  }

  #expected = 0;

  /** As BoundedCapture.expect. */
  expect(bytes: number): void {
    this.#expected = bytes;
    this.#own?.expect(bytes);
  }

  /** Whether the whole answer is byte for byte the reference's whole answer (as far as both were read). */
  get identical(): boolean {
    return !this.#own && !this.#released && !this.truncated && !this.overBudget && this.#waitingBytes === 0 && this.#verified === this.reference.size && !this.reference.truncated && !this.reference.overBudget;
  }

  add(chunk: Buffer): void {
    if (this.#released || this.overBudget || this.truncated) return;
    if (this.#own) {
      this.#own.add(chunk);
      this.truncated = this.#own.truncated;
      this.overBudget = this.#own.overBudget;
      return;
    }
    const room = this.limit - this.size;
    // Past the limit the pair is not compared at all (response_too_large): nothing more is worth keeping.
    if (chunk.length > room) {
      this.truncated = true;
      return;
    }
    if (!this.arena.hold(chunk.length)) {
      this.overBudget = true;
      return this.#dropWaiting();
    }
    this.#waiting.push(chunk);
    this.#waitingBytes += chunk.length;
    this.#check();
  }

  /** Checks the waiting chunks against what the reference has by now. */
  #check(): void {
    if (this.#released) return;
    while (!this.#own && this.#waiting.length > 0) {
      const chunk = this.#waiting[0] as Buffer;
      if (this.reference.size < this.#verified + chunk.length) {
        // The reference will not get these bytes (it ended shorter, or stopped): the answers differ.
        if (this.reference.truncated || this.reference.overBudget) this.#keepEverything();
        return;
      }
      if (!this.reference.holdsAt(this.#verified, chunk)) return this.#keepEverything();
      this.#waiting.shift();
      this.#waitingBytes -= chunk.length;
      this.arena.unhold(chunk.length);
      this.#verified += chunk.length;
    }
  }

  /** From now on this answer is kept whole: the agreed prefix (copied from the reference), then its own chunks. */
  #keepEverything(): void {
    if (this.#own) return;
    if (this.reference.overBudget) {
      // The agreed prefix is gone with the reference's bytes; the pair is skipped as overload anyway.
      this.overBudget = true;
      return this.#dropWaiting();
    }
    const own = new BoundedCapture(this.limit, this.arena);
    own.expect(this.#expected);
    if (this.#verified > 0) own.add(this.reference.bytes().subarray(0, this.#verified));
    for (const chunk of this.#waiting) own.add(chunk);
    this.#dropWaiting();
    this.#own = own;
    this.overBudget = own.overBudget;
    this.truncated = own.truncated;
  }

  #dropWaiting(): void {
    this.arena.unhold(this.#waitingBytes);
    this.#waiting = [];
    this.#waitingBytes = 0;
  }

  /** The bytes in one piece (the reference's, when identical). Valid until `release` (of both). */
  bytes(): Buffer {
    if (this.identical) return this.reference.bytes();
    this.#keepEverything();
    return (this.#own as BoundedCapture).bytes();
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#dropWaiting();
    this.#own?.release();
  }
}
