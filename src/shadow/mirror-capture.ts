import { BoundedCapture } from "./bounded-capture.ts";
import type { ByteArena } from "./byte-arena.ts";

/**
 * The capture of an answer expected to be the same bytes as another one (the shadow's and the noise
 * sample's, against the primary's): each chunk is checked against the reference as it arrives and, while
 * they agree, not kept at all. Bytes that arrive before the reference has them (the shadow is read as
 * fast as its backend sends, the primary at the client's pace) are copied into a lead block of the arena
 * until the reference catches up, then the block is given back. At the first difference the mirror keeps
 * everything in a BoundedCapture of its own (the agreed prefix copied from the reference, the lead, then
 * its own chunks), so a differing answer is still there whole for the diff.
 *
 * So the common case of a migration, a large answer both backends give byte for byte, costs one memcmp
 * as the bytes pass and a copy only of what arrived ahead of the primary, and the pair's verdict on the
 * bodies (`identical`) is known before the comparison starts: it neither compares the bodies again nor
 * hands them to the worker.
 *
 * Why copies into the arena (the reference's, the lead's) rather than holding the chunks as they came:
 * held chunks outlive young-generation collections and cost more in collections than the copy does
 * (`npm run bench`, 1 MB shadowed: copying the primary was 5% cheaper in CPU per request than holding
 * its chunks, twice; for the lead the difference was within the bench's noise).
 */
export class MirrorCapture {
  /** Bytes known equal to the reference's first ones, and not kept (but for a lead not yet let go). */
  #verified = 0;
  /** Bytes that arrived ahead of the reference: those from `#leadStart` on, until they are checked. */
  #lead: BoundedCapture | undefined;
  #leadStart = 0;
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
    reference.onGrowth(() => this.#check());
  }

  get size(): number {
    if (this.#own) return this.#own.size;
    return this.#lead ? this.#leadStart + this.#lead.size : this.#verified;
  }

  /** As BoundedCapture.expect. */
  expect(bytes: number): void {
    this.#expected = bytes;
    this.#own?.expect(bytes);
  }

  /** Whether the whole answer is byte for byte the reference's whole answer (as far as both were read). */
  get identical(): boolean {
    return !this.#own && !this.#lead && !this.#released && !this.truncated && !this.overBudget && this.#verified === this.reference.size && !this.reference.truncated && !this.reference.overBudget;
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
    if (chunk.length > this.limit - this.size) {
      this.truncated = true;
      return;
    }
    let rest = chunk;
    if (!this.#lead) {
      // As much as the reference already has is checked at once, and not kept.
      const n = Math.min(this.reference.size - this.#verified, rest.length);
      if (n > 0) {
        if (!this.reference.holdsAt(this.#verified, rest.subarray(0, n))) return this.#keepEverything(rest);
        this.#verified += n;
        rest = rest.subarray(n);
      }
      if (rest.length === 0) return;
      this.#lead = new BoundedCapture(this.limit, this.arena);
      this.#lead.expect(this.#expected - this.#verified);
      this.#leadStart = this.#verified;
    }
    this.#lead.add(rest);
    if (this.#lead.overBudget) {
      this.overBudget = true;
      return this.#dropLead();
    }
    this.#check();
  }

  /** Checks the lead against what the reference has by now; a lead wholly checked is given back. */
  #check(): void {
    const lead = this.#lead;
    if (this.#released || this.#own || !lead) return;
    const leadEnd = this.#leadStart + lead.size;
    const upTo = Math.min(this.reference.size, leadEnd);
    if (upTo > this.#verified) {
      const theirs = this.reference.bytes().subarray(this.#verified, upTo);
      const ours = lead.bytes().subarray(this.#verified - this.#leadStart, upTo - this.#leadStart);
      if (!theirs.equals(ours)) return this.#keepEverything(undefined);
      this.#verified = upTo;
    }
    if (this.#verified === leadEnd) this.#dropLead();
    // The reference will not get the rest (it stopped): the answers differ.
    else if (this.reference.truncated || this.reference.overBudget) this.#keepEverything(undefined);
  }

  /** From now on this answer is kept whole: the agreed prefix (copied from the reference), the lead, `next`. */
  #keepEverything(next: Buffer | undefined): void {
    if (this.#own || this.#released) return; // released: nothing may take arena memory again
    if (this.reference.overBudget) {
      // The agreed prefix is gone with the reference's bytes; the pair is skipped as overload anyway.
      this.overBudget = true;
      return this.#dropLead();
    }
    let own: BoundedCapture;
    if (this.#lead && this.#leadStart === 0) {
      own = this.#lead; // the lead is the whole answer so far (it was ahead from the first byte): kept as it is
      this.#lead = undefined;
    } else {
      own = new BoundedCapture(this.limit, this.arena);
      own.expect(this.#expected);
      if (this.#verified > 0) own.add(this.reference.bytes().subarray(0, this.#verified));
      if (this.#lead) own.add(this.#lead.bytes().subarray(this.#verified - this.#leadStart));
      this.#dropLead();
    }
    if (next) own.add(next);
    this.#own = own;
    this.overBudget = own.overBudget;
    this.truncated = own.truncated;
  }

  #dropLead(): void {
    this.#lead?.release();
    this.#lead = undefined;
  }

  /**
   * The bytes in one piece (the reference's, when identical), valid until `release` (of both); empty,
   * as BoundedCapture's, when nothing is kept (over budget, or released).
   */
  bytes(): Buffer {
    if (this.identical) return this.reference.bytes();
    this.#keepEverything(undefined);
    return this.#own?.bytes() ?? Buffer.alloc(0);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#dropLead();
    this.#own?.release();
  }
}
