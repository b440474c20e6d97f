import { Counter, Gauge, type Registry } from "prom-client";
import { RequestSeries } from "./request-series.ts";
import type { OverloadReason } from "../proxy/admission.ts";
import type { RetryReason } from "../proxy/upstream-error.ts";

/** Route label for requests no route claims (served by the monolith). */
export const UNROUTED = "_unrouted";

/** Status classes used as label values: a fixed, small set. `aborted` is a client that left before the end. */
export type StatusClass = "1xx" | "2xx" | "3xx" | "4xx" | "5xx" | "aborted";

export function statusClassOf(status: number, completed: boolean): StatusClass {
  if (!completed) return "aborted";
  if (status >= 500) return "5xx";
  if (status >= 400) return "4xx";
  if (status >= 300) return "3xx";
  if (status >= 200) return "2xx";
  return "1xx";
}

/** Why the proxy refused a request itself. A fixed set: used as a label value. */
export const REJECTION_REASONS = ["bad_request_target", "malformed_request", "client_header_timeout", "client_body_timeout", "too_many_connections", "upstream_overloaded", "body_too_large"] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** The data plane's metrics. Label values are route ids, backend names and status classes only. */
export interface ProxyMetrics {
  /** Records one finished exchange; `side` says whether `backend` is the route's target or its monolith. */
  observe(route: string, backend: string, side: "legacy" | "target", status: StatusClass, seconds: number): void;
  /** Records a request replayed to the monolith after its target failed it. */
  fallback(route: string, reason: "status_5xx" | "transport_error" | "circuit_open" | "overloaded"): void;
  /** Creates a route's fallback series at 0, so a rate over them exists before the first fallback. */
  initRoute(route: string, hasFallback: boolean): void;
  /** Records a request refused at once because a backend's queue was full (503 `upstream_overloaded`). */
  overloaded(backend: string, reason: OverloadReason): void;
  /** Records a WebSocket handshake: joined, declined by the backend, or failed. */
  upgrade(route: string, backend: string, outcome: "upgraded" | "declined" | "error"): void;
  /** Records a backend's circuit breaker state. */
  circuit(backend: string, state: "closed" | "open" | "half_open"): void;
  /** Records a failed attempt sent again to another destination of its backend. */
  retry(backend: string, reason: RetryReason): void;
  /** Records a failed attempt that could have been retried but was not: the backend's retry budget was spent. */
  retrySkipped(backend: string, why: "budget"): void;
  /** Records a request the proxy answered itself, refusing it (a fixed set of reasons). */
  rejected(reason: RejectionReason): void;
  setRolloutPercent(route: string, percent: number): void;
  /** Drops the gauge of a route no longer in the config. */
  forgetRoute(route: string): void;
}

/**
 * Creates the metrics in `registry` (one per proxy instance: nothing global). The per-request ones are
 * counted without prom-client on the way (see request-series.ts).
 */
export function createProxyMetrics(registry: Registry): ProxyMetrics {
  const requests = new RequestSeries();
  requests.register(registry);
  const rollout = new Gauge({
    name: "strangler_rollout_percent",
    help: "Live share of users a route sends to its target, in percent",
    // Every worker reads the same state (or, with an external provider, observes about the same share):
    // under --workers the scrape shows their average, not their sum.
    aggregator: "average",
    labelNames: ["route"] as const,
    registers: [registry],
  });
  const rejections = new Counter({
    name: "strangler_rejected_requests_total",
    help: "Requests the proxy refused itself (bad target, malformed, client body timeout, overload), by reason",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  // Every reason exists from the start at 0: an alert on a rate of refusals has a series to read.
  for (const reason of REJECTION_REASONS) rejections.labels(reason).inc(0);
  const fallbacks = new Counter({
    name: "strangler_fallbacks_total",
    help: "Requests the target failed and the monolith answered instead, by reason",
    labelNames: ["route", "reason"] as const,
    registers: [registry],
  });
  const overloads = new Counter({
    name: "strangler_upstream_overloaded_total",
    help: "Requests answered 503 at once because a backend's queue was full, by backend and bound",
    labelNames: ["backend", "reason"] as const,
    registers: [registry],
  });
  const upgrades = new Counter({
    name: "strangler_websocket_upgrades_total",
    help: "WebSocket handshakes, by route, backend and outcome (upgraded, declined, error)",
    labelNames: ["route", "backend", "outcome"] as const,
    registers: [registry],
  });
  const circuits = new Gauge({
    name: "strangler_circuit_state",
    help: "Each backend's circuit breaker (1 on the current state; under --workers, how many workers are in it)",
    labelNames: ["backend", "state"] as const,
    registers: [registry],
  });
  const retries = new Counter({
    name: "strangler_upstream_retries_total",
    help: "Failed attempts sent again to another destination of the same backend, by backend and reason (connect_failure, reset)",
    labelNames: ["backend", "reason"] as const,
    registers: [registry],
  });
  const retriesSkipped = new Counter({
    name: "strangler_upstream_retries_skipped_total",
    help: "Failed attempts not retried because the backend's retry budget was spent, by backend",
    labelNames: ["backend", "why"] as const,
    registers: [registry],
  });
  return {
    retry(backend, reason) {
      retries.labels(backend, reason).inc();
    },
    retrySkipped(backend, why) {
      retriesSkipped.labels(backend, why).inc();
    },
    observe(route, backend, _side, status, seconds) {
      requests.observe(route, backend, status, seconds);
    },
    fallback(route, reason) {
      fallbacks.labels(route, reason).inc();
    },
    initRoute(route, hasFallback) {
      if (!hasFallback) return;
      for (const reason of ["status_5xx", "transport_error", "circuit_open", "overloaded"] as const) fallbacks.labels(route, reason).inc(0);
    },
    overloaded(backend, reason) {
      overloads.labels(backend, reason).inc();
      rejections.labels("upstream_overloaded").inc();
    },
    upgrade(route, backend, outcome) {
      upgrades.labels(route, backend, outcome).inc();
    },
    circuit(backend, state) {
      for (const s of ["closed", "open", "half_open"] as const) circuits.labels(backend, s).set(s === state ? 1 : 0);
    },
    rejected(reason) {
      rejections.labels(reason).inc();
    },
    setRolloutPercent(route, percent) {
      rollout.labels(route).set(percent);
    },
    forgetRoute(route) {
      rollout.remove(route);
    },
  };
}
