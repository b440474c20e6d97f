/**
 * MurmurHash3, x86 32-bit variant, over the UTF-8 bytes of a string.
 * Checked against the reference implementation's published vectors in test/unit/decision.
 */
const encoder = new TextEncoder();

export function murmurhash3_32(text: string, seed = 0): number {
  const bytes = encoder.encode(text);
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = bytes.length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = bytes.length & 3;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent — with no tail, k stays 0 (bytes[blocks] is undefined, `^ undefined` is `^ 0`), and imul(0) ^ h is h
  if (tail > 0) {
    let k = 0;
    // Stryker disable next-line ConditionalExpression: equivalent — a missing third byte reads undefined, and undefined << 16 is 0
    if (tail === 3) k ^= (bytes[blocks + 2] as number) << 16;
    if (tail >= 2) k ^= (bytes[blocks + 1] as number) << 8;
    k ^= bytes[blocks] as number;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
