import { describe, expect, it } from "vitest";
import { BUCKETS, bucketOf, inRollout } from "../../../src/decision/bucketing.ts";
import { murmurhash3_32 } from "../../../src/decision/murmurhash3.ts";

describe("murmurhash3_32", () => {
  // Vectors published with the reference implementation (SMHasher) and widely reproduced.
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
    ["ππππππππ", 0x9747b28c, 0xd58063c1],
  ])("%j with seed %d is %d", (text, seed, expected) => {
    expect(murmurhash3_32(text, seed)).toBe(expected);
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
  it("is murmurhash3_32 of salt:route:key mod 10,000, with no salt by default", () => {
    expect(bucketOf("products-list", "alice")).toBe(murmurhash3_32(":products-list:alice") % BUCKETS);
    expect(bucketOf("products-list", "alice", "s1")).toBe(murmurhash3_32("s1:products-list:alice") % BUCKETS);
    expect(bucketOf("products-list", "alice", "")).toBe(bucketOf("products-list", "alice"));
  });
});
