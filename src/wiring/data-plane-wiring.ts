import type { Recorder } from "../recording/recorder.ts";
import { randomUUID } from "node:crypto";
import { NOOP_PROVIDER, OpenFeature, ProviderStatus } from "@openfeature/server-sdk";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { StranglerConfig } from "../config/schema.ts";
import { createFlagDecider } from "../decision/decider.ts";
import { DecisionTally, tallying, type ObservedShare } from "../decision/decision-tally.ts";
import { StranglerRolloutProvider } from "../flags/rollout-provider.ts";
import type { Clock } from "../guard/clock.ts";
import type { FleetEvidence } from "../guard/fleet-evidence.ts";
import { createRepeatedEvents } from "../log/repeated-events.ts";
import { createProxyMetrics, type ProxyMetrics } from "../metrics/proxy-metrics.ts";
import { registerDestinationGauges } from "../metrics/destination-metrics.ts";
import { createAccessLog } from "../proxy/access-log.ts";
import { createDataPlane, type DataPlaneServers } from "../proxy/data-plane.ts";
import type { RolloutService } from "../rollout/rollout-service.ts";
import type { ShadowRunner } from "../shadow/shadow-runner.ts";
import type { LiveState } from "./live-state.ts";
import type { CircuitState } from "../proxy/circuit-breaker.ts";
import type { TrafficMap } from "../map/traffic-map.ts";

/** The data plane as the proxy runs it: its servers (fed by the edge listener), its metrics and its decision seam. */
export interface DataPlaneWiring {
  readonly servers: DataPlaneServers;
  readonly metrics: ProxyMetrics;
  /** Whether the flag provider is ready to decide (the readiness probe asks). */
  providerReady(): boolean;
  /** With an external provider, the share of decisions it sent to a route's target; undefined with ours. */
  readonly observed: ((routeId: string) => ObservedShare) | undefined;
  /** Brings computed gauges up to date before a scrape. */
  publishGauges(): void;
  /** Re-publishes what a reload changes (backend series, rollout gauges). */
  reloaded(next: StranglerConfig, previous: StranglerConfig): void;
  /** Stops the gauges' timer (before the server closes). */
  stopTimers(): void;
  /** Closes what outlives the server: repeated-event counters and this instance's OpenFeature domain. */
  close(): Promise<void>;
}

export interface DataPlaneDeps {
  readonly live: LiveState;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly rollouts: RolloutService;
  readonly evidence: FleetEvidence;
  readonly shadows: ShadowRunner;
  readonly recorder?: Recorder;
  readonly traffic: TrafficMap;
}

/**
 * The request path's parts: proxy metrics that also feed the fleet's evidence, the OpenFeature provider
 * (ours over the live percentages, or the configured one, whose decisions are then tallied), breakers per
 * backend, the access log, and the data plane server that uses them.
 */
export async function wireDataPlane(deps: DataPlaneDeps): Promise<DataPlaneWiring> {
  const { live, logger, rollouts, clock } = deps;
  const config = live.config;
  const metrics = withEvidence(createProxyMetrics(deps.registry), deps.evidence);
  registerDestinationGauges(deps.registry, () => live.current.backends);
  // Every backend's breaker starts closed, and says so before its first change.
  for (const name of Object.keys(config.backends)) metrics.circuit(name, "closed");
  if (!config.openFeature) {
    publishRolloutGauges(metrics, rollouts, config, undefined);
    rollouts.state.onChange(() => publishRolloutGauges(metrics, rollouts, live.config, undefined));
  }

  // Each instance gets its own OpenFeature domain, so several proxies (or tests) in one process never share a provider.
  const domain = `strangler-fig:${randomUUID()}`;
  const provider = config.openFeature?.provider ?? new StranglerRolloutProvider(rollouts.state);
  await OpenFeature.setProviderAndWait(domain, provider);
  const client = OpenFeature.getClient(domain);
  const flagDecider = createFlagDecider({
    client,
    ...(provider instanceof StranglerRolloutProvider ? { syncProvider: provider } : {}),
    settings: () => ({ stickyCookie: live.config.stickyCookie, forceSecret: live.config.forceRouting?.secret }),
  });
  // An external provider owns the percentages: what it decides is tallied, and shown in their place.
  const tally = config.openFeature ? new DecisionTally(clock) : undefined;
  const decider = tally ? tallying(flagDecider, tally) : flagDecider;
  const observedGauges = tally ? publishObservedGauges(metrics, () => live.config, tally) : undefined;
  live.destinationEvents.listen({
    circuitChanged(backend, destination, state) {
      metrics.circuit(backend, backendCircuit(live, backend));
      logger.warn({ backend, destination, state }, "circuit breaker changed");
    },
    healthChanged(backend, destination, healthy, detail) {
      logger.warn({ backend, destination, healthy, detail }, healthy ? "destination healthy again" : "destination unhealthy: no new requests until it passes its health checks");
    },
    resolutionChanged(backend, hostname, error) {
      if (error) logger.warn({ backend, hostname, err: error }, "host name does not resolve; its destinations there were are kept");
      else logger.info({ backend, hostname }, "host name resolves again");
    },
    destinationsChanged(backend, added, removed) {
      logger.info({ backend, added, removed }, "backend's destinations changed (DNS)");
      metrics.circuit(backend, backendCircuit(live, backend));
    },
  });
  const events = createRepeatedEvents(logger);
  const accessLog = createAccessLog(logger, () => live.config.accessLog);
  const servers = createDataPlane({ state: live, decider, logger, metrics, shadows: deps.shadows, ...(deps.recorder ? { recorder: deps.recorder } : {}), events, traffic: deps.traffic, accessLog });
  return {
    servers,
    metrics,
    providerReady: () => client.providerStatus === ProviderStatus.READY,
    observed: tally ? (routeId: string) => tally.share(routeId) : undefined,
    publishGauges: () => observedGauges?.publish(),
    reloaded(next, previous) {
      for (const name of Object.keys(next.backends)) if (!Object.hasOwn(previous.backends, name)) metrics.circuit(name, "closed");
      if (!tally) publishRolloutGauges(metrics, rollouts, next, previous);
    },
    stopTimers: () => observedGauges?.stop(),
    async close() {
      events.close();
      // Replacing our provider closes it and releases this instance's domain.
      await OpenFeature.setProviderAndWait(domain, NOOP_PROVIDER);
    },
  };
}

/**
 * A backend's breaker state as one value: closed while any destination's is (the backend still takes
 * requests), half-open while one probes, open when every destination's is.
 */
function backendCircuit(live: LiveState, name: string): CircuitState {
  const destinations = live.current.backends.get(name)?.destinations.destinations ?? [];
  let state: CircuitState = "open";
  for (const d of destinations) {
    if (d.breaker.state === "closed") return "closed";
    if (d.breaker.state === "half_open") state = "half_open";
  }
  return destinations.length === 0 ? "closed" : state;
}

/** Sets the rollout gauge of every configured route to its live percentage; drops routes that left the config. */
function publishRolloutGauges(metrics: ProxyMetrics, rollouts: RolloutService, config: StranglerConfig, previous: StranglerConfig | undefined): void {
  const ids = new Set(config.routes.map((r) => r.id));
  for (const route of previous?.routes ?? []) if (!ids.has(route.id)) metrics.forgetRoute(route.id);
  for (const route of config.routes) metrics.setRolloutPercent(route.id, rollouts.state.get(route.id)?.percent ?? route.rollout.percent);
}

/**
 * With an external provider, `strangler_rollout_percent` is the share of decisions it sent to the target
 * over the tally's window, refreshed every 10 s; a route it has not decided yet has no series (no 0%).
 */
function publishObservedGauges(metrics: ProxyMetrics, config: () => StranglerConfig, tally: DecisionTally): { publish(): void; stop(): void } {
  const publish = () => {
    for (const route of config().routes) {
      const { targetPercent } = tally.share(route.id);
      if (targetPercent === null) metrics.forgetRoute(route.id);
      else metrics.setRolloutPercent(route.id, targetPercent);
    }
  };
  // On a timer for the workers a cluster scrape collects without asking them, and before each local scrape.
  const timer = setInterval(publish, 10_000);
  timer.unref();
  return { publish, stop: () => clearInterval(timer) };
}

/** Proxy metrics that also feed the fleet's evidence (the side is known by the route's target backend). */
function withEvidence(metrics: ProxyMetrics, window: FleetEvidence): ProxyMetrics {
  return {
    ...metrics,
    observe(route, backend, side, status, seconds) {
      metrics.observe(route, backend, side, status, seconds);
      // Unrouted traffic is the monolith's; it counts towards the migration's overall progress.
      if (status !== "aborted") window.request(route, side, status === "5xx", seconds * 1000);
    },
    fallback(route, reason) {
      metrics.fallback(route, reason);
      window.fallback(route);
    },
  };
}
