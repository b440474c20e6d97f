import { Counter, Histogram, type Registry } from "prom-client";

/** Why a sampled request was not compared: a fixed set, used as a label value. */
export type SkipReason = "body_too_large" | "response_too_large" | "overload" | "aborted";

export type ShadowOutcome = "match" | "diverge" | "error" | "skipped";

/** Shadow comparison metrics. Label values: route ids, backend names, outcomes, skip reasons. */
export interface ShadowMetrics {
  outcome(route: string, outcome: Exclude<ShadowOutcome, "skipped">): void;
  skipped(route: string, reason: SkipReason): void;
  /** Latency of one backend for a shadowed request (both sides are recorded for the same requests). */
  latency(route: string, backend: string, seconds: number): void;
  /** Differences discarded as noise (learned or confirmed). */
  noise(route: string, count: number): void;
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
  const latency = new Histogram({
    name: "strangler_shadow_backend_latency_seconds",
    help: "Latency of each backend for the same shadowed requests",
    labelNames: ["route", "backend"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const noise = new Counter({
    name: "strangler_shadow_noise_total",
    help: "Differences discarded as noise (fields that also differ between two answers of the same backend)",
    labelNames: ["route"] as const,
    registers: [registry],
  });
  return {
    outcome: (route, outcome) => comparisons.labels(route, outcome).inc(),
    skipped(route, reason) {
      comparisons.labels(route, "skipped").inc();
      skipped.labels(route, reason).inc();
    },
    latency: (route, backend, seconds) => latency.labels(route, backend).observe(seconds),
    noise: (route, count) => noise.labels(route).inc(count),
  };
}
