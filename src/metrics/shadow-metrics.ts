import { Counter, type Registry } from "prom-client";
import { LatencySeries } from "./latency-series.ts";

/** Why a sampled request was not compared: a fixed set, used as a label value. */
const SKIP_REASONS = ["body_too_large", "response_too_large", "overload", "aborted"] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export type ShadowOutcome = "match" | "diverge" | "error" | "skipped";

/** Shadow comparison metrics. Label values: route ids, backend names, outcomes, skip reasons. */
export interface ShadowMetrics {
  outcome(route: string, outcome: Exclude<ShadowOutcome, "skipped">): void;
  skipped(route: string, reason: SkipReason): void;
  /** Latency of one backend for a shadowed request (both sides are recorded for the same requests). */
  latency(route: string, backend: string, seconds: number): void;
  /** Differences discarded as noise (learned or confirmed). */
  noise(route: string, count: number): void;
  /** Creates a shadowed route's outcome series at 0, so a match rate exists before the first comparison. */
  initRoute(route: string): void;
}

/** A metric's children by two label values, looked up in nested maps (no key string built per call). */
function childrenOf<T>(make: (a: string, b: string) => T): (a: string, b: string) => T {
  const byA = new Map<string, Map<string, T>>();
  return (a, b) => {
    let byB = byA.get(a);
    if (!byB) byA.set(a, (byB = new Map()));
    let child = byB.get(b);
    if (!child) byB.set(b, (child = make(a, b)));
    return child;
  };
}

export function createShadowMetrics(registry: Registry): ShadowMetrics {
  const comparisons = new Counter({
    name: "strangler_shadow_comparisons_total",
    help: "Shadowed requests by outcome: match, diverge, error (a side failed), skipped",
    labelNames: ["route", "outcome"] as const,
    registers: [registry],
  });
  const skipped = new Counter({
    name: "strangler_shadow_skipped_total",
    help: "Sampled requests not compared, by reason",
    labelNames: ["route", "reason"] as const,
    registers: [registry],
  });
  const latency = new LatencySeries("strangler_shadow_backend_latency_seconds", "Latency of each backend for the same shadowed requests");
  latency.register(registry);
  const noise = new Counter({
    name: "strangler_shadow_noise_total",
    help: "Differences discarded as noise (fields that also differ between two answers of the same backend)",
    labelNames: ["route"] as const,
    registers: [registry],
  });
  // Every shadowed request records an outcome and two latencies: the outcome's labelled child is looked
  // up once per route (prom-client hashes the label values on every `labels` call), the latencies are
  // counted in arrays (LatencySeries). Label values come from the route table, so the maps hold routes ×
  // backends entries at most; no series is ever removed.
  const outcomeOf = childrenOf((route, outcome) => comparisons.labels(route, outcome));
  return {
    outcome: (route, outcome) => outcomeOf(route, outcome).inc(),
    skipped(route, reason) {
      outcomeOf(route, "skipped").inc();
      skipped.labels(route, reason).inc();
    },
    latency: (route, backend, seconds) => latency.observe(route, backend, seconds),
    noise: (route, count) => noise.labels(route).inc(count),
    initRoute(route) {
      for (const outcome of ["match", "diverge", "error", "skipped"] as const) comparisons.labels(route, outcome).inc(0);
      for (const reason of SKIP_REASONS) skipped.labels(route, reason).inc(0);
      noise.labels(route).inc(0);
    },
  };
}
