import { describe, expect, it } from "vitest";
import { promoteSchema } from "../../src/config/schema.ts";
import { ConfigError } from "../../src/config/config-error.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { inRollout } from "../../src/decision/bucketing.ts";
import type { EvidenceSummary } from "../../src/guard/evidence-summary.ts";
import { evaluatePromotion } from "../../src/guard/guard-policy.ts";
import { NoiseModel } from "../../src/shadow/noise-model.ts";

/**
 * The rules a migration's safety rests on, each pinned at its boundary: a mutation that moves one of
 * them (found by mutation testing: each of these survived the rest of the suite) fails here.
 */
describe("the safety rules, at their boundaries", () => {
  it("rollout: 0% sends no bucket, 25% exactly buckets 0–2499, 100% all of them", () => {
    expect(inRollout(0, 0)).toBe(false); // `<=` would send bucket 0 (one user in 10 000) at 0%
    expect(inRollout(9999, 0)).toBe(false);
    expect(inRollout(0, 25)).toBe(true);
    expect(inRollout(2499, 25)).toBe(true);
    expect(inRollout(2500, 25)).toBe(false);
    expect(inRollout(0, 0.01)).toBe(true);
    expect(inRollout(1, 0.01)).toBe(false);
    expect(inRollout(9999, 100)).toBe(true);
    expect(inRollout(9999, 99.99)).toBe(false);
  });

  it("writes are never shadowed by accident: a write method in shadow.methods needs shadowWrites, and the error names the field", () => {
    const config = (shadow: Record<string, unknown>) => ({
      backends: { legacy: { url: "http://127.0.0.1:1" }, svc: { url: "http://127.0.0.1:2" } },
      routes: [{ id: "orders", match: { path: "/orders" }, target: "svc", rollout: { percent: 0 }, shadow: { percent: 100, ...shadow } }],
    });
    let error: unknown;
    try {
      validateConfig(config({ methods: ["GET", "POST"] }), "test");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([expect.stringMatching(/^routes\[0\] \(id "orders"\)\.shadow\.methods\[1\]: POST is a write: set shadowWrites: true/)]);
    expect(() => validateConfig(config({ methods: ["GET", "POST"], shadowWrites: true }), "test")).not.toThrow();
    expect(() => validateConfig(config({ methods: ["GET", "HEAD", "OPTIONS"] }), "test")).not.toThrow();
  });

  it("noise needs repetition: one old-against-old difference is not noise at minOccurrences 2, two are", () => {
    const noise = new NoiseModel([], () => 0);
    noise.observe("r", [{ path: "$.generatedAt", kind: "changed" }]);
    expect(noise.isNoise("r", "$.generatedAt", "changed", 2)).toBe(false);
    expect(noise.isNoise("r", "$.generatedAt", "changed", 1)).toBe(true);
    noise.observe("r", [{ path: "$.generatedAt", kind: "changed" }, { path: "$.generatedAt", kind: "changed" }]); // one sample, however many positions
    expect(noise.isNoise("r", "$.generatedAt", "changed", 2)).toBe(true);
    expect(noise.isNoise("r", "$.generatedAt", "changed", 3)).toBe(false);
    noise.setStatus("r", "$.generatedAt", "changed", "rejected");
    expect(noise.isNoise("r", "$.generatedAt", "changed", 1)).toBe(false);
  });

  it("promotion judges the error rate by its upper confidence bound, not the raw rate: 1 error in 60 holds", () => {
    const promote = promoteSchema.parse({ steps: [5, 100], minSamples: 50, maxErrorRate: 0.05, maxDivergenceRate: 0.5 });
    const evidence = (errors: number, requests: number): EvidenceSummary => ({
      fromMs: 0,
      toMs: 60_000,
      target: { requests, errors, p99Ms: undefined },
      legacy: { requests: 0, errors: 0, p99Ms: undefined },
      shadow: { compared: 1_000, diverged: 0, errors: 0 },
      fallbacks: 0,
    });
    // Raw 1.7%, under 5%; the 95% Wilson upper bound is about 8.9%: hold.
    expect(evaluatePromotion(promote, evidence(1, 60))).toMatchObject({ verdict: "hold", reason: expect.stringMatching(/^error upper bound 8\.\d\d% not under 5\.00%/) });
    // With enough requests the same raw rate passes.
    expect(evaluatePromotion(promote, evidence(10, 2_000))).toMatchObject({ verdict: "advance" });
  });
});
