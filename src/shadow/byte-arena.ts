import { Buffer } from "node:buffer";
/** Blocks are handed out in multiples of this, so that freed neighbours join up cleanly. */
const ALIGN = 64;

const roundUp = (bytes: number) => Math.ceil(Math.max(bytes, 1) / ALIGN) * ALIGN;

/**
 * The memory every shadow capture lives in: one SharedArrayBuffer of `limit` bytes, reserved on first
 * use, carved into blocks (first fit, freed neighbours merged). The budget is the memory itself, so it
 * cannot be exceeded: not by garbage waiting for a collection (released blocks are reused at once, where
 * freed Buffers would stay resident until V8 collects them), and not by bodies handed to the comparison
 * worker, which reads the same memory instead of receiving a transferred copy it would free only at its
 * own next collection. Pages the OS never had to back cost nothing until first used.
 */
export class ByteArena {
  #memory: SharedArrayBuffer | undefined;
  /**
   * Free blocks, sorted by offset, as two parallel lists of numbers and a count: a block freed or taken
   * moves its neighbours by hand, with no object per block and no `splice` call (each free took ~600
   * instructions in splice alone with objects, in `npm run bench:instructions`' shadowed setup).
   */
  readonly #offsets: number[] = [];
  readonly #sizes: number[] = [];
  #count = 0;
  #used = 0;

  constructor(readonly limit: number) {
    const whole = Math.floor(limit / ALIGN) * ALIGN;
    if (whole > 0) this.#insertAt(0, 0, whole);
  }

  /** Bytes held by live blocks. */
  get used(): number {
    return this.#used;
  }

  /** Free blocks (offset and size, by offset), for tests. */
  get freeBlocks(): ReadonlyArray<{ readonly offset: number; readonly size: number }> {
    return Array.from({ length: this.#count }, (_, i) => ({ offset: this.#offsets[i] as number, size: this.#sizes[i] as number }));
  }

  /** A block of at least `bytes` (its length is `bytes`), or undefined when no free block is large enough. */
  alloc(bytes: number): Buffer | undefined {
    const size = roundUp(bytes);
    const offsets = this.#offsets;
    const sizes = this.#sizes;
    let index = 0;
    while (index < this.#count && (sizes[index] as number) < size) index++;
    if (index === this.#count) return undefined;
    const offset = offsets[index] as number;
    const left = (sizes[index] as number) - size;
    if (left === 0) this.#removeAt(index);
    else {
      offsets[index] = offset + size;
      sizes[index] = left;
    }
    this.#used += size;
    this.#memory ??= new SharedArrayBuffer(this.limit);
    return Buffer.from(this.#memory, offset, bytes);
  }

  /** Returns a block from `alloc`; the Buffer must not be used afterwards. */
  free(block: Buffer): void {
    const offset = block.byteOffset;
    const size = roundUp(block.byteLength);
    this.#used -= size;
    const offsets = this.#offsets;
    const sizes = this.#sizes;
    // The first free block after this one.
    let next = 0;
    while (next < this.#count && (offsets[next] as number) < offset) next++;
    const previous = next - 1;
    const joinsPrevious = previous >= 0 && (offsets[previous] as number) + (sizes[previous] as number) === offset;
    const joinsNext = next < this.#count && offset + size === offsets[next];
    if (joinsPrevious && joinsNext) {
      sizes[previous] = (sizes[previous] as number) + size + (sizes[next] as number);
      this.#removeAt(next);
    } else if (joinsPrevious) sizes[previous] = (sizes[previous] as number) + size;
    else if (joinsNext) {
      offsets[next] = offset;
      sizes[next] = (sizes[next] as number) + size;
    } else this.#insertAt(next, offset, size);
  }

  #insertAt(index: number, offset: number, size: number): void {
    const offsets = this.#offsets;
    const sizes = this.#sizes;
    for (let i = this.#count; i > index; i--) {
      offsets[i] = offsets[i - 1] as number;
      sizes[i] = sizes[i - 1] as number;
    }
    offsets[index] = offset;
    sizes[index] = size;
    this.#count++;
  }

  #removeAt(index: number): void {
    const offsets = this.#offsets;
    const sizes = this.#sizes;
    const last = --this.#count;
    for (let i = index; i < last; i++) {
      offsets[i] = offsets[i + 1] as number;
      sizes[i] = sizes[i + 1] as number;
    }
  }
}

/** The staging buffer of `copyIntoArena`: ordinary (not shared) memory, so any copy into it is a memmove. */
const STAGE_BYTES = 64 * 1024;
const stage = Buffer.allocUnsafeSlow(STAGE_BYTES + 8);
/** Below this, a byte-by-byte copy costs less than the two calls of the staged one. */
const STAGE_ABOVE = 256;

/**
 * Copies `source` into `target` (a block of the arena) at `targetStart`, as `source.copy(target,
 * targetStart)` does, but fast whatever the two addresses' alignment.
 *
 * Why: V8 copies into a SharedArrayBuffer with relaxed atomic stores, a word at a time when source and
 * destination are equally aligned (mod 8) and a byte at a time when not, which is ~6× slower (1 MB in
 * ~450 µs against ~70, on the 2-core machine). The bytes of a socket read begin wherever the HTTP head
 * left off, so most chunks of a captured body are misaligned with their place in the block. They are
 * copied through a staging buffer instead, placed at the target's alignment: an ordinary memmove, then
 * a word-wise copy from cache.
 */
export function copyIntoArena(source: Buffer, target: Buffer, targetStart: number): void {
  const length = source.length;
  if (length < STAGE_ABOVE || ((target.byteOffset + targetStart - source.byteOffset) & 7) === 0) {
    source.copy(target, targetStart);
    return;
  }
  for (let done = 0; done < length; ) {
    const at = targetStart + done;
    const shift = (target.byteOffset + at) & 7;
    const n = Math.min(STAGE_BYTES, length - done);
    source.copy(stage, shift, done, done + n);
    stage.copy(target, at, shift, shift + n);
    done += n;
  }
}
