import { describe, expect, it } from "vitest";
import { BoundedCapture } from "../../../src/shadow/bounded-capture.ts";
import { ByteArena } from "../../../src/shadow/byte-arena.ts";
import { MirrorCapture } from "../../../src/shadow/mirror-capture.ts";

/** A small deterministic generator, so that a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function chunksOf(body: Buffer, next: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    const size = 1 + Math.floor(next() * 3000);
    out.push(body.subarray(at, at + size));
    at += size;
  }
  return out;
}

/** The two answers' chunks added in a random interleaving, as two sockets would deliver them. */
function stream(primary: Buffer, shadow: Buffer, seed: number, arena: ByteArena) {
  const next = random(seed);
  const reference = new BoundedCapture(1 << 20, arena);
  const mirror = new MirrorCapture(1 << 20, arena, reference);
  const left = chunksOf(primary, next);
  const right = chunksOf(shadow, next);
  let peakHeld = 0;
  while (left.length > 0 || right.length > 0) {
    if (right.length === 0 || (left.length > 0 && next() < 0.5)) reference.add(left.shift() as Buffer);
    else mirror.add(right.shift() as Buffer);
    peakHeld = Math.max(peakHeld, arena.used);
  }
  return { reference, mirror, peakHeld };
}

describe("a mirror capture checks an answer against the primary's as it streams", () => {
  const body = Buffer.from(JSON.stringify({ items: Array.from({ length: 600 }, (_, i) => ({ id: i, name: `item ${i}` })) }));

  it("finds the same bytes identical in any chunking and interleaving, keeping no copy of them", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const arena = new ByteArena(4 << 20);
      const { reference, mirror } = stream(body, Buffer.from(body), seed, arena);
      expect(mirror.identical, `seed ${seed}`).toBe(true);
      expect(mirror.size).toBe(body.length);
      // Only the reference's copy is left in the arena once everything arrived.
      expect(arena.used).toBeLessThan(body.length + 64 * 1024);
      // The reference's own bytes, not a copy of them.
      expect(mirror.bytes().buffer).toBe(reference.bytes().buffer);
      expect(mirror.bytes().byteOffset).toBe(reference.bytes().byteOffset);
      mirror.release();
      reference.release();
      expect(arena.used, `seed ${seed}`).toBe(0);
    }
  });

  it("keeps a differing answer whole, whatever byte differs and however the chunks fell", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed * 7919);
      const shadow = Buffer.from(body);
      const kind = seed % 3;
      let expected: Buffer;
      if (kind === 0) {
        const at = Math.floor(next() * shadow.length);
        shadow[at] = (shadow[at] as number) ^ 1; // one byte changed
        expected = shadow;
      } else if (kind === 1) {
        expected = shadow.subarray(0, Math.floor(next() * shadow.length)); // shorter
      } else {
        expected = Buffer.concat([shadow, Buffer.from(" trailing")]); // longer
      }
      const arena = new ByteArena(4 << 20);
      const { reference, mirror } = stream(body, expected, seed, arena);
      expect(mirror.identical, `seed ${seed}`).toBe(false);
      expect(mirror.size).toBe(expected.length);
      expect(mirror.bytes().equals(expected), `seed ${seed}`).toBe(true);
      expect(reference.bytes().equals(body)).toBe(true);
      mirror.release();
      reference.release();
      expect(arena.used, `seed ${seed}`).toBe(0);
    }
  });

  it("copies an identical answer once, whichever side arrives first, and the other is only compared", () => {
    for (const shadowFirst of [true, false]) {
      const arena = new ByteArena(4 << 20);
      const reference = new BoundedCapture(1 << 20, arena);
      const mirror = new MirrorCapture(1 << 20, arena, reference);
      const first = shadowFirst ? (c: Buffer) => mirror.add(c) : (c: Buffer) => reference.add(c);
      const second = shadowFirst ? (c: Buffer) => reference.add(c) : (c: Buffer) => mirror.add(c);
      const large = Buffer.concat(Array.from({ length: 16 }, () => body)); // many chunks, past the first block
      reference.expect(large.length);
      mirror.expect(large.length);
      const chunks = chunksOf(large, random(5));
      for (const chunk of chunks) first(chunk);
      const held = arena.used;
      expect(held).toBeGreaterThanOrEqual(large.length);
      expect(held).toBeLessThan(large.length + 64); // one block
      for (const chunk of chunks) {
        second(Buffer.from(chunk)); // the same bytes, in other memory
        expect(arena.used, `shadow first: ${shadowFirst}`).toBe(held); // checked, nothing copied
      }
      expect(mirror.identical).toBe(true);
      expect(reference.bytes().equals(large)).toBe(true);
      mirror.release();
      reference.release();
      expect(arena.used).toBe(0);
    }
  });

  it("keeps the primary's own bytes where they differ from bytes a mirror wrote ahead, and the mirror's whole", () => {
    const arena = new ByteArena(4 << 20);
    const reference = new BoundedCapture(1 << 20, arena);
    const mirror = new MirrorCapture(1 << 20, arena, reference);
    const shadow = Buffer.from(body);
    shadow[body.length - 10] = 0x21;
    mirror.add(shadow); // all of it ahead of the primary
    for (const chunk of chunksOf(body, random(9))) reference.add(chunk);
    expect(reference.bytes().equals(body)).toBe(true);
    expect(mirror.identical).toBe(false);
    expect(mirror.bytes().equals(shadow)).toBe(true);
    mirror.release();
    reference.release();
    expect(arena.used).toBe(0);
  });

  it("with a shadow and a noise sample on one block, each keeps its own answer and is identical only when it is", () => {
    const variants = (next: () => number): Buffer => {
      const kind = Math.floor(next() * 4);
      const copy = Buffer.from(body);
      if (kind === 0 || kind === 1) return copy; // the same (twice as likely)
      if (kind === 2) {
        const at = Math.floor(next() * copy.length);
        copy[at] = (copy[at] as number) ^ 4;
        return copy;
      }
      return next() < 0.5 ? copy.subarray(0, Math.floor(next() * copy.length)) : Buffer.concat([copy, Buffer.from("]")]);
    };
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed * 104729);
      const answers = [variants(next), variants(next)];
      const arena = new ByteArena(4 << 20);
      const reference = new BoundedCapture(1 << 20, arena);
      const mirrors = answers.map(() => new MirrorCapture(1 << 20, arena, reference));
      const queues = [chunksOf(body, next), ...answers.map((a) => chunksOf(a, next))];
      const add = [(c: Buffer) => reference.add(c), ...mirrors.map((m) => (c: Buffer) => m.add(c))];
      while (queues.some((q) => q.length > 0)) {
        const i = Math.floor(next() * 3);
        const chunk = queues[i]?.shift();
        if (chunk) add[i]?.(chunk);
      }
      expect(reference.bytes().equals(body), `seed ${seed}`).toBe(true);
      const allSame = answers.every((a) => a.equals(body));
      answers.forEach((answer, i) => {
        const mirror = mirrors[i] as MirrorCapture;
        expect(mirror.bytes().equals(answer), `seed ${seed}, mirror ${i}`).toBe(true);
        expect(mirror.size).toBe(answer.length);
        // Never identical when it differs; always when every answer is the primary's (a mirror that is
        // the same while the other is not may have kept its own copy: it is then compared in full).
        if (!answer.equals(body)) expect(mirror.identical, `seed ${seed}, mirror ${i}`).toBe(false);
        if (allSame) expect(mirror.identical, `seed ${seed}, mirror ${i}`).toBe(true);
      });
      for (const m of mirrors) m.release();
      reference.release();
      expect(arena.used, `seed ${seed}`).toBe(0);
    }
  });

  it("counts the chunks it holds while ahead of the primary, and gives up when they do not fit", () => {
    const arena = new ByteArena(64 * 1024);
    const reference = new BoundedCapture(1 << 20, arena);
    const mirror = new MirrorCapture(1 << 20, arena, reference);
    mirror.add(Buffer.alloc(40_000, 1));
    expect(arena.used).toBe(40_000); // written ahead into the reference's block, counted
    reference.add(Buffer.alloc(40_000, 1));
    expect(arena.used).toBeGreaterThanOrEqual(40_000);
    expect(arena.used).toBeLessThan(40_000 + 64); // the primary's chunk checked against it: one copy of both
    mirror.add(Buffer.alloc(30_000, 1)); // ahead again, past what the arena has left
    expect(mirror.overBudget).toBe(true);
    expect(reference.overBudget).toBe(true); // the block it shares: the pair is skipped as overload
    expect(mirror.bytes()).toHaveLength(0); // nothing kept, and nothing to throw on
    mirror.release();
    expect(mirror.bytes()).toHaveLength(0); // and a released mirror takes no arena memory again
    reference.release();
    expect(arena.used).toBe(0);
  });

  it("stops at its limit: a truncated answer is never identical", () => {
    const arena = new ByteArena(1 << 20);
    const reference = new BoundedCapture(1000, arena);
    const mirror = new MirrorCapture(1000, arena, reference);
    reference.add(Buffer.alloc(1000, 2));
    mirror.add(Buffer.alloc(600, 2));
    mirror.add(Buffer.alloc(600, 2));
    expect(mirror.truncated).toBe(true);
    expect(mirror.identical).toBe(false);
    mirror.release();
    reference.release();
    expect(arena.used).toBe(0);
  });
});
