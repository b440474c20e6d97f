import type { GuardConfig, PromoteConfig } from "../config/schema.ts";
import type { EvidenceSummary } from "./evidence-summary.ts";
import { wilsonUpperBound, zFor } from "./statistics.ts";

/** A guard's verdict: fine, not enough data to say, or tripped (with the thresholds crossed). */
export type GuardVerdict =
  | { readonly verdict: "ok" }
  | { readonly verdict: "insufficient_data"; readonly reason: string }
  | { readonly verdict: "trip"; readonly reasons: readonly string[] };

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
/** A rate as people write it in a sentence: 12%, 2.5%, 0.25% (no trailing zeros). */
const rate = (x: number) => `${Number((x * 100).toFixed(2))}%`;

/**
 * Judges a route's target over the guard's window. Each threshold needs `minSamples` of its own kind of
 * evidence; with none judgeable, the verdict is "insufficient_data", never a trip or a pass by default.
 */
export function evaluateGuard(guard: GuardConfig, evidence: EvidenceSummary): GuardVerdict {
  const reasons: string[] = [];
  let judged = 0;
  const { target, legacy, shadow } = evidence;
  if (guard.maxErrorRate !== undefined && target.requests >= guard.minSamples) {
    judged++;
    const errorRate = target.errors / target.requests;
    if (errorRate > guard.maxErrorRate) reasons.push(`error rate ${rate(errorRate)} > ${rate(guard.maxErrorRate)} over ${target.requests} requests (${target.errors} errors)`);
  }
  if (guard.maxP99Ratio !== undefined && target.requests >= guard.minSamples && legacy.requests >= guard.minSamples && target.p99Ms !== undefined && legacy.p99Ms !== undefined) {
    judged++;
    const ratio = target.p99Ms / Math.max(legacy.p99Ms, 1);
    if (ratio > guard.maxP99Ratio) reasons.push(`p99 ${target.p99Ms} ms is ${ratio.toFixed(1)}× the monolith's ${legacy.p99Ms} ms (limit ${guard.maxP99Ratio}×)`);
  }
  if (guard.maxDivergenceRate !== undefined && shadow.compared >= guard.minSamples) {
    judged++;
    const divergenceRate = shadow.diverged / shadow.compared;
    if (divergenceRate > guard.maxDivergenceRate) reasons.push(`divergence rate ${rate(divergenceRate)} > ${rate(guard.maxDivergenceRate)} over ${shadow.compared} comparisons (${shadow.diverged} diverged)`);
  }
  if (reasons.length > 0) return { verdict: "trip", reasons };
  if (judged === 0) {
    return { verdict: "insufficient_data", reason: `fewer than ${guard.minSamples} samples (target requests ${target.requests}, comparisons ${shadow.compared})` };
  }
  return { verdict: "ok" };
}

/** A promotion's verdict at the end of an interval. */
export type PromotionVerdict =
  | { readonly verdict: "advance" }
  | { readonly verdict: "insufficient_data"; readonly reason: string }
  | { readonly verdict: "hold"; readonly reason: string };

/**
 * Judges a step's evidence with a confidence bound, not a raw ratio: the Wilson upper bound of the
 * divergence rate (and of the error rate, when set) must be under the threshold.
 */
export function evaluatePromotion(promote: PromoteConfig, evidence: EvidenceSummary): PromotionVerdict {
  const z = zFor(promote.confidence);
  const { shadow, target } = evidence;
  if (shadow.compared < promote.minSamples) {
    return { verdict: "insufficient_data", reason: `${shadow.compared} of ${promote.minSamples} shadow comparisons` };
  }
  if (promote.maxErrorRate !== undefined && target.requests < promote.minSamples) {
    return { verdict: "insufficient_data", reason: `${target.requests} of ${promote.minSamples} target requests` };
  }
  const divergence = wilsonUpperBound(shadow.diverged, shadow.compared, z);
  if (divergence >= promote.maxDivergenceRate) {
    return { verdict: "hold", reason: `divergence upper bound ${pct(divergence)} not under ${pct(promote.maxDivergenceRate)} (${shadow.diverged}/${shadow.compared})` };
  }
  // Stryker disable next-line ConditionalExpression: equivalent — without a threshold, `errors >= undefined` is false and the step advances all the same
  if (promote.maxErrorRate !== undefined) {
    const errors = wilsonUpperBound(target.errors, target.requests, z);
    if (errors >= promote.maxErrorRate) return { verdict: "hold", reason: `error upper bound ${pct(errors)} not under ${pct(promote.maxErrorRate)}` };
  }
  return { verdict: "advance" };
}
