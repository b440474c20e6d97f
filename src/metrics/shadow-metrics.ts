import { Counter, type Registry } from "prom-client";
import { CounterSeries } from "./counter-series.ts";
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

export function createShadowMetrics(registry: Registry): ShadowMetrics {
  // Every shadowed request counts its outcome: counted in maps, scraped as prom-client's Counter (see CounterSeries).
  const comparisons = new CounterSeries("strangler_shadow_comparisons_total", "Shadowed requests by outcome: match, diverge, error (a side failed), skipped", ["route", "outcome"]);
  comparisons.register(registry);
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
  // Every shadowed request records an outcome and two latencies, counted in maps and arrays (CounterSeries,
  // LatencySeries). Label values come from the route table, so the maps hold routes × backends entries at
  // most; no series is ever removed.
  return {
    outcome: (route, outcome) => comparisons.inc(route, outcome),
    skipped(route, reason) {
      comparisons.inc(route, "skipped");
      skipped.labels(route, reason).inc();
    },
    latency: (route, backend, seconds) => latency.observe(route, backend, seconds),
    noise: (route, count) => noise.labels(route).inc(count),
    initRoute(route) {
      for (const outcome of ["match", "diverge", "error", "skipped"] as const) comparisons.inc(route, outcome, 0);
      for (const reason of SKIP_REASONS) skipped.labels(route, reason).inc(0);
      noise.labels(route).inc(0);
    },
  };
}
