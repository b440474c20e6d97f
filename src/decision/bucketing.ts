import { flagKeyFor } from "../flags/flag-key.ts";
import { murmurhash3_32_of } from "./murmurhash3.ts";

/** Buckets per route: 10,000 gives a resolution of 0.01%. */
export const BUCKETS = 10_000;

/**
 * What a key is hashed as on a route: flagd's default bucketing value (the flag key, then the targeting
 * key), behind the route's salt. A salt of "" (every route's until it is re-rolled) is flagd's own
 * `fractional` with no bucketing expression; `strangler flags export --format flagd` writes the salt into
 * the expression otherwise.
 */
export function bucketingValue(routeId: string, key: string, salt = ""): string {
  return `${bucketingPrefix(routeId, salt)}${key}`;
}

/** Per salt, per route, the bucketing value's fixed part; a few salts at most (rollout, shadow, re-rolls). */
const prefixes = new Map<string, Map<string, string>>();
const MAX_SALTS = 64;

/** The salt and flag key of a route, built once rather than per request. */
function bucketingPrefix(routeId: string, salt: string): string {
  let bySalt = prefixes.get(salt);
  if (!bySalt) {
    if (prefixes.size >= MAX_SALTS) prefixes.clear(); // salts re-rolled many times over: start again
    prefixes.set(salt, (bySalt = new Map()));
  }
  let prefix = bySalt.get(routeId);
  if (prefix === undefined) bySalt.set(routeId, (prefix = `${salt}${flagKeyFor(routeId)}`));
  return prefix;
}

/**
 * The sticky bucket (0–9999) of `key` on a route, as flagd's `fractional` computes it over weights
 * summing to 10,000: `floor(hash × 10000 / 2³²)`. The same key always lands in the same bucket, so
 * raising a percentage only ever adds keys. (hash × 10000 < 2⁵³, and the division is by a power of two:
 * the floating-point result is exact, no BigInt needed.)
 */
export function bucketOf(routeId: string, key: string, salt = ""): number {
  return Math.floor((murmurhash3_32_of(bucketingPrefix(routeId, salt), key) * BUCKETS) / 4_294_967_296);
}

/**
 * True when a key in `bucket` is sent to the target at `percent` (0–100, 0.01 resolution): the target's
 * weight is the first `percent × 100` buckets, as the target variant is listed first in flagd's
 * `fractional`. 0 is exactly none and 100 exactly all.
 */
export function inRollout(bucket: number, percent: number): boolean {
  return bucket < Math.round(percent * 100);
}
