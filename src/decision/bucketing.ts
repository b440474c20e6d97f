import { murmurhash3_32 } from "./murmurhash3.ts";

/** Buckets per route: 10,000 gives a resolution of 0.01%. */
export const BUCKETS = 10_000;

/**
 * The sticky bucket of `key` on a route: `murmurhash3_32(salt + ":" + routeId + ":" + key) mod 10000`.
 * The same key always lands in the same bucket, so raising a percentage only ever adds keys.
 */
export function bucketOf(routeId: string, key: string, salt = ""): number {
  return murmurhash3_32(`${salt}:${routeId}:${key}`) % BUCKETS;
}

/**
 * True when a key in `bucket` is sent to the target at `percent` (0–100, 0.01 resolution).
 * 0 is exactly none and 100 exactly all.
 */
export function inRollout(bucket: number, percent: number): boolean {
  return bucket < Math.round(percent * 100);
}
