import { describe, expect, it } from "vitest";
import { BUCKETS, bucketingValue, bucketOf, inRollout } from "../../../src/decision/bucketing.ts";
import fc from "fast-check";
import { murmurhash3_32, murmurhash3_32_of } from "../../../src/decision/murmurhash3.ts";

describe("murmurhash3_32", () => {
  // Vectors published with the reference implementation (SMHasher) and widely reproduced. ASCII only:
  // beyond it the hash is flagd-core's reading of UTF-16 (test/unit/flags/flagd-equivalence.test.ts).
  it.each([
    ["", 0, 0x00000000],
    ["", 1, 0x514e28b7],
    ["", 0xffffffff, 0x81f16f39],
    ["\0\0\0\0", 0, 0x2362f9de],
    ["aaaa", 0x9747b28c, 0x5a97808a],
    ["aaa", 0x9747b28c, 0x283e0130],
    ["aa", 0x9747b28c, 0x5d211726],
    ["a", 0x9747b28c, 0x7fa09ea6],
    ["abcd", 0x9747b28c, 0xf0478627],
    ["Hello, world!", 0x9747b28c, 0x24884cba],
    ["The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd],
  ])("%j with seed %d is %d", (text, seed, expected) => {
    expect(murmurhash3_32(text, seed)).toBe(expected);
  });
});

describe("murmurhash3_32_of", () => {
  it("hashes two parts exactly as their concatenation, at every split and seed, beyond ASCII too", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme-composite" }), fc.string({ unit: "binary" }), fc.integer({ min: 0, max: 0xffffffff }), (head, tail, seed) => {
        expect(murmurhash3_32_of(head, tail, seed)).toBe(murmurhash3_32(head + tail, seed));
        expect(murmurhash3_32_of("", head + tail, seed)).toBe(murmurhash3_32(head + tail, seed));
      }),
      { numRuns: 2000 },
    );
  });

  it("matches bucketingValue's string for a salted route", () => {
    for (const key of ["alice", "bob", "", "ключ", "🙂x"]) {
      expect(bucketOf("orders", key, "s4lt")).toBe(Math.floor((murmurhash3_32(bucketingValue("orders", key, "s4lt")) * BUCKETS) / 4_294_967_296));
    }
  });
});

describe("bucketing", () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

  it("spreads keys evenly: 25% of 20,000 keys within ±1%", () => {
    const inside = keys.filter((k) => inRollout(bucketOf("products-list", k), 25)).length;
    expect(inside / keys.length).toBeGreaterThan(0.24);
    expect(inside / keys.length).toBeLessThan(0.26);
  });

  it("is monotonic: every key in at 10% is in at 20%", () => {
    for (const key of keys) {
      const bucket = bucketOf("r", key);
      if (inRollout(bucket, 10)) expect(inRollout(bucket, 20)).toBe(true);
    }
  });

  it("0 is exactly none and 100 exactly all", () => {
    for (const key of keys.slice(0, 2000)) {
      const bucket = bucketOf("r", key);
      expect(bucket).toBeGreaterThanOrEqual(0);
      expect(bucket).toBeLessThan(BUCKETS);
      expect(inRollout(bucket, 0)).toBe(false);
      expect(inRollout(bucket, 100)).toBe(true);
    }
  });

  it("routes bucket independently", () => {
    const a = keys.slice(0, 1000).map((k) => inRollout(bucketOf("a", k), 50));
    const b = keys.slice(0, 1000).map((k) => inRollout(bucketOf("b", k), 50));
    const same = a.filter((x, i) => x === b[i]).length;
    expect(same).toBeGreaterThan(400);
    expect(same).toBeLessThan(600);
  });
});

describe("the bucket of a key", () => {
  it("is floor(murmurhash3_32(salt + flag key + key) × 10000 / 2³²), flagd's fractional over 10,000, with no salt by default", () => {
    const bucket = (text: string) => Math.floor((murmurhash3_32(text) * 10_000) / 2 ** 32);
    expect(bucketOf("products-list", "alice")).toBe(bucket("strangler.route.products-listalice"));
    expect(bucketOf("products-list", "alice", "s1")).toBe(bucket("s1strangler.route.products-listalice"));
    expect(bucketOf("products-list", "alice", "")).toBe(bucketOf("products-list", "alice"));
    expect(bucketingValue("r", "k", "s")).toBe("sstrangler.route.rk");
  });

  it("spans 0–9999: the largest hash lands in the last bucket, not past it", () => {
    // Found by search: a key whose hash is in the top 1/10000 of the range.
    const key = Array.from({ length: 200_000 }, (_, i) => `k${i}`).find((k) => murmurhash3_32(bucketingValue("r", k)) >= 2 ** 32 * 0.9999);
    expect(key).toBeDefined();
    expect(bucketOf("r", key as string)).toBe(9_999);
  });
});
