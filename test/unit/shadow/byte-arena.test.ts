import { describe, expect, it } from "vitest";
import { ByteArena, copyIntoArena } from "../../../src/shadow/byte-arena.ts";
import { BoundedCapture } from "../../../src/shadow/bounded-capture.ts";

describe("the shadow capture arena", () => {
  it("hands out blocks until the limit, never beyond, and reuses freed blocks at once", () => {
    const arena = new ByteArena(1024);
    const a = arena.alloc(400) as Buffer;
    const b = arena.alloc(400) as Buffer;
    expect(a.length).toBe(400);
    expect(arena.alloc(400)).toBeUndefined(); // 448 + 448 used of 1024: no room for a third
    arena.free(a);
    const c = arena.alloc(400) as Buffer;
    expect(c.byteOffset).toBe(a.byteOffset); // the freed block, reused
    arena.free(b);
    arena.free(c);
    expect(arena.used).toBe(0);
    // Freed neighbours merge back into one block as large as the arena.
    expect(arena.alloc(1024)?.length).toBe(1024);
  });

  it("merges a block freed between two free ones", () => {
    const arena = new ByteArena(64 * 3);
    const [x, y, z] = [arena.alloc(64), arena.alloc(64), arena.alloc(64)] as Buffer[];
    arena.free(x as Buffer);
    arena.free(z as Buffer);
    expect(arena.alloc(128)).toBeUndefined();
    arena.free(y as Buffer);
    expect(arena.alloc(192)?.length).toBe(192);
  });

  it("under any order of allocations and frees, blocks never overlap and the free list stays sorted, merged and whole", () => {
    const units = 64;
    const arena = new ByteArena(units * 64 + 10); // the odd tail is never handed out
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed % n;
    };
    const live: Buffer[] = [];
    for (let step = 0; step < 5000; step++) {
      if (live.length > 0 && next(2) === 0) {
        arena.free(live.splice(next(live.length), 1)[0] as Buffer);
      } else {
        const bytes = 1 + next(64 * 6);
        const block = arena.alloc(bytes);
        const largestFree = Math.max(0, ...arena.freeBlocks.map((b) => b.size));
        if (block === undefined) {
          expect(largestFree, `step ${step}`).toBeLessThan(Math.ceil(bytes / 64) * 64); // refused only when no block fits
          continue;
        }
        expect(block.length).toBe(bytes);
        expect(block.byteOffset % 64).toBe(0);
        live.push(block);
      }
      // Live blocks do not overlap; free blocks are sorted, apart (a gap between any two: merged), and
      // free and live bytes add up to the arena.
      const spans = live.map((b) => [b.byteOffset, b.byteOffset + Math.ceil(b.length / 64) * 64] as const).sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i++) expect((spans[i] as readonly number[])[0]).toBeGreaterThanOrEqual((spans[i - 1] as readonly number[])[1] as number);
      const free = arena.freeBlocks;
      for (let i = 1; i < free.length; i++) expect((free[i] as { offset: number }).offset).toBeGreaterThan((free[i - 1] as { offset: number; size: number }).offset + (free[i - 1] as { size: number }).size);
      const freeBytes = free.reduce((sum, b) => sum + b.size, 0);
      expect(freeBytes + arena.used, `step ${step}`).toBe(units * 64);
      for (const b of free) for (const [from, to] of spans) expect(b.offset >= to || b.offset + b.size <= from).toBe(true);
    }
    for (const block of live) arena.free(block);
    expect(arena.freeBlocks).toEqual([{ offset: 0, size: units * 64 }]);
  });

  it("blocks are views on one SharedArrayBuffer, so a worker reads them in place", () => {
    const arena = new ByteArena(4096);
    const block = arena.alloc(10) as Buffer;
    expect(block.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it("a capture that outgrows the arena gives its bytes back at once and is marked over budget", () => {
    const arena = new ByteArena(64 * 1024);
    const capture = new BoundedCapture(1024 * 1024, arena);
    capture.add(Buffer.alloc(20_000, 1));
    expect(arena.used).toBeGreaterThan(0);
    capture.add(Buffer.alloc(50_000, 2)); // needs 70 000 bytes: more than the arena holds
    expect(capture.overBudget).toBe(true);
    expect(arena.used).toBe(0);
    capture.release();
    expect(arena.used).toBe(0);
  });

  it("a capture keeps a prefix up to its limit and grows by copying within the arena", () => {
    const arena = new ByteArena(1024 * 1024);
    const capture = new BoundedCapture(100_000, arena);
    for (let i = 0; i < 10; i++) capture.add(Buffer.alloc(15_000, i));
    expect(capture.truncated).toBe(true);
    expect(capture.size).toBe(100_000);
    expect(capture.bytes()[14_999]).toBe(0);
    expect(capture.bytes()[15_000]).toBe(1);
    capture.release();
    expect(arena.used).toBe(0);
  });

  it("copies into arena memory byte for byte at any alignment and length, touching nothing around", () => {
    const source = Buffer.alloc(300_000);
    for (let i = 0; i < source.length; i++) source[i] = (i * 131 + 7) & 0xff;
    const memory = Buffer.from(new SharedArrayBuffer(400_000));
    let seed = 11;
    const next = (n: number) => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed % n;
    };
    const lengths = [0, 1, 255, 256, 257, 4096, 65_535, 65_536, 65_537, 200_003];
    for (let round = 0; round < 200; round++) {
      const length = lengths[round % lengths.length] as number;
      const from = next(source.length - length + 1);
      const blockStart = next(64) * 8 + next(8); // blocks are 64-aligned; the view may start anywhere
      const target = memory.subarray(blockStart, memory.length);
      const at = next(target.length - length + 1);
      memory.fill(0xee);
      copyIntoArena(source.subarray(from, from + length), target, at);
      expect(target.subarray(at, at + length).equals(source.subarray(from, from + length)), `round ${round}`).toBe(true);
      // Nothing before or after the copied range was written.
      expect(memory.subarray(0, blockStart + at).every((b) => b === 0xee), `round ${round}`).toBe(true);
      expect(memory.subarray(blockStart + at + length).every((b) => b === 0xee), `round ${round}`).toBe(true);
    }
  });
});
