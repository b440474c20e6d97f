import { describe, expect, it } from "vitest";
import { guardSchema, promoteSchema } from "../../../src/config/schema.ts";
import type { EvidenceSummary } from "../../../src/guard/evidence-summary.ts";
import { evaluateGuard, evaluatePromotion } from "../../../src/guard/guard-policy.ts";
import { wilsonUpperBound, zFor } from "../../../src/guard/statistics.ts";

type Side = Partial<EvidenceSummary["target"]>;
function evidence(target: Side = {}, legacy: Side = {}, shadow: Partial<EvidenceSummary["shadow"]> = {}): EvidenceSummary {
  return {
    fromMs: 0,
    toMs: 60_000,
    target: { requests: 0, errors: 0, p99Ms: undefined, ...target },
    legacy: { requests: 0, errors: 0, p99Ms: undefined, ...legacy },
    shadow: { compared: 0, diverged: 0, errors: 0, ...shadow },
    fallbacks: 0,
  };
}

describe("a guard's thresholds, at their boundaries", () => {
  it("error rate: judged from minSamples target requests on; a rate equal to the limit passes, one above trips", () => {
    const guard = guardSchema.parse({ minSamples: 100, maxErrorRate: 0.1 });
    expect(evaluateGuard(guard, evidence({ requests: 99, errors: 99 }))).toEqual({
      verdict: "insufficient_data",
      reason: "fewer than 100 samples (target requests 99, comparisons 0)",
    });
    expect(evaluateGuard(guard, evidence({ requests: 100, errors: 10 }))).toEqual({ verdict: "ok" });
    expect(evaluateGuard(guard, evidence({ requests: 100, errors: 11 }))).toEqual({ verdict: "trip", reasons: ["error rate 11% > 10% over 100 requests (11 errors)"] });
  });

  it("p99 ratio: judged only with minSamples on both sides and a p99 on both; equal to the limit passes", () => {
    const guard = guardSchema.parse({ minSamples: 100, maxP99Ratio: 2 });
    const slow = { requests: 100, p99Ms: 500 };
    const monolith = { requests: 100, p99Ms: 100 };
    const waiting = { verdict: "insufficient_data" };
    expect(evaluateGuard(guard, evidence({ ...slow, requests: 99 }, monolith))).toMatchObject(waiting);
    expect(evaluateGuard(guard, evidence(slow, { ...monolith, requests: 99 }))).toMatchObject(waiting);
    expect(evaluateGuard(guard, evidence({ ...slow, p99Ms: undefined }, monolith))).toMatchObject(waiting);
    expect(evaluateGuard(guard, evidence(slow, { ...monolith, p99Ms: undefined }))).toMatchObject(waiting);
    expect(evaluateGuard(guard, evidence({ ...slow, p99Ms: 200 }, monolith))).toEqual({ verdict: "ok" });
    expect(evaluateGuard(guard, evidence(slow, monolith))).toEqual({ verdict: "trip", reasons: ["p99 500 ms is 5.0× the monolith's 100 ms (limit 2×)"] });
    // A monolith answering in under a millisecond is taken as 1 ms, not divided by.
    expect(evaluateGuard(guard, evidence({ ...slow, p99Ms: 2 }, { ...monolith, p99Ms: 0 }))).toEqual({ verdict: "ok" });
  });

  it("divergence rate: judged from minSamples comparisons on; equal to the limit passes, above trips", () => {
    const guard = guardSchema.parse({ minSamples: 100, maxDivergenceRate: 0.2 });
    expect(evaluateGuard(guard, evidence({}, {}, { compared: 99, diverged: 99 }))).toMatchObject({ verdict: "insufficient_data" });
    expect(evaluateGuard(guard, evidence({}, {}, { compared: 100, diverged: 20 }))).toEqual({ verdict: "ok" });
    expect(evaluateGuard(guard, evidence({}, {}, { compared: 100, diverged: 21 }))).toEqual({ verdict: "trip", reasons: ["divergence rate 21% > 20% over 100 comparisons (21 diverged)"] });
  });

  it("a threshold the guard does not set is not judged, however much evidence of its kind there is", () => {
    const divergenceOnly = guardSchema.parse({ minSamples: 10, maxDivergenceRate: 0.2 });
    expect(evaluateGuard(divergenceOnly, evidence({ requests: 1_000, errors: 1_000, p99Ms: 9_000 }, { requests: 1_000, p99Ms: 1 }))).toMatchObject({ verdict: "insufficient_data" });
    const errorsOnly = guardSchema.parse({ minSamples: 10, maxErrorRate: 0.1 });
    expect(evaluateGuard(errorsOnly, evidence({}, {}, { compared: 1_000, diverged: 1_000 }))).toMatchObject({ verdict: "insufficient_data" });
  });

  it("two healthy thresholds judged together pass", () => {
    const guard = guardSchema.parse({ minSamples: 10, maxErrorRate: 0.1, maxDivergenceRate: 0.2 });
    expect(evaluateGuard(guard, evidence({ requests: 10 }, {}, { compared: 10 }))).toEqual({ verdict: "ok" });
  });
});

describe("a promotion step's judgement, at its boundaries", () => {
  const promote = promoteSchema.parse({ minSamples: 50, maxDivergenceRate: 0.1, maxErrorRate: 0.1 });
  const z = zFor(promote.confidence);

  it("needs minSamples comparisons, and minSamples target requests when it judges errors", () => {
    expect(evaluatePromotion(promote, evidence({ requests: 1_000 }, {}, { compared: 49 }))).toEqual({ verdict: "insufficient_data", reason: "49 of 50 shadow comparisons" });
    expect(evaluatePromotion(promote, evidence({ requests: 49 }, {}, { compared: 1_000 }))).toEqual({ verdict: "insufficient_data", reason: "49 of 50 target requests" });
    expect(evaluatePromotion(promote, evidence({ requests: 50 }, {}, { compared: 50 }))).toEqual({ verdict: "advance" });
    const noErrorRule = promoteSchema.parse({ minSamples: 50, maxDivergenceRate: 0.1 });
    expect(evaluatePromotion(noErrorRule, evidence({ requests: 0 }, {}, { compared: 50 }))).toEqual({ verdict: "advance" });
  });

  it("holds when an upper bound equals the threshold: it must be under it", () => {
    const divergenceBound = wilsonUpperBound(2, 200, z);
    const atDivergence = promoteSchema.parse({ minSamples: 50, maxDivergenceRate: divergenceBound });
    expect(evaluatePromotion(atDivergence, evidence({ requests: 200 }, {}, { compared: 200, diverged: 2 }))).toEqual({
      verdict: "hold",
      reason: `divergence upper bound ${(divergenceBound * 100).toFixed(2)}% not under ${(divergenceBound * 100).toFixed(2)}% (2/200)`,
    });
    const errorBound = wilsonUpperBound(3, 300, z);
    const atErrors = promoteSchema.parse({ minSamples: 50, maxDivergenceRate: 0.5, maxErrorRate: errorBound });
    expect(evaluatePromotion(atErrors, evidence({ requests: 300, errors: 3 }, {}, { compared: 300 }))).toEqual({
      verdict: "hold",
      reason: `error upper bound ${(errorBound * 100).toFixed(2)}% not under ${(errorBound * 100).toFixed(2)}%`,
    });
  });
});
