/**
 * MurmurHash3, x86 32-bit, exactly as flagd's JavaScript evaluator hashes a bucketing value
 * (`@openfeature/flagd-core`, through the `imurmurhash` package), so that our rollout decisions and
 * flagd's `fractional` operation put every key on the same side.
 *
 * For ASCII text this is the reference MurmurHash3 of its bytes (test/unit/decision checks the published
 * vectors). Beyond ASCII it is imurmurhash's reading of UTF-16 code units: each unit is taken as a byte
 * position but keeps its high bits (they overlap the next position), the string's length in units is
 * mixed in, and a tail word with its top bit set is skipped. Quirks all, and all kept: a key must land
 * where flagd-core lands it. (An evaluator hashing UTF-8 bytes would place non-ASCII keys elsewhere.)
 */
export function murmurhash3_32(text: string, seed = 0): number {
  return murmurhash3_32_of(text, "", seed);
}

/** The code unit at `j` of `head + tail`, without building that string (NaN past the end, as charCodeAt). */
function unitAt(head: string, tail: string, j: number): number {
  return j < head.length ? head.charCodeAt(j) : tail.charCodeAt(j - head.length);
}

/**
 * `murmurhash3_32(head + tail, seed)` without the concatenation: the data plane hashes a route's fixed
 * prefix and a request's key, and a string built per request (then flattened to be read) was most of
 * the hash's cost.
 */
export function murmurhash3_32_of(head: string, tail: string, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const length = head.length + tail.length;
  const rest = length & 3;
  const blocks = length - rest;
  let i = 0;
  for (; i < blocks; i += 4) {
    const top = unitAt(head, tail, i + 3);
    let k =
      (unitAt(head, tail, i) & 0xffff) ^
      ((unitAt(head, tail, i + 1) & 0xffff) << 8) ^
      ((unitAt(head, tail, i + 2) & 0xffff) << 16) ^
      ((top & 0xff) << 24) ^
      ((top & 0xff00) >> 8);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  // Stryker disable next-line ConditionalExpression: equivalent — without a third tail unit, charCodeAt reads NaN, and NaN & 0xffff is 0
  if (rest === 3) k ^= (unitAt(head, tail, i + 2) & 0xffff) << 16;
  // Stryker disable next-line ConditionalExpression: equivalent — as above, for the second
  if (rest >= 2) k ^= (unitAt(head, tail, i + 1) & 0xffff) << 8;
  // Stryker disable next-line ConditionalExpression: equivalent — with no tail, charCodeAt past the end is NaN, and k ^ NaN is k (0)
  if (rest >= 1) k ^= unitAt(head, tail, i) & 0xffff;
  // imurmurhash mixes the tail only when it is positive as a signed 32-bit number (a zero tail mixes to
  // nothing either way; a negative one is flagd-core's quirk).
  if (k > 0) {
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
