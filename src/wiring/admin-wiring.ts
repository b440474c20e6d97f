import type { Recorder } from "../recording/recorder.ts";
import type { ReplayService } from "../replay/replay-service.ts";
import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { Counter, type Registry } from "prom-client";
import { createAdminApp, type AdminRefusal } from "../admin/admin-app.ts";
import type { Logger } from "pino";
import type { AdminToken } from "../admin/admin-tokens.ts";
import { buildHistory, buildOverview } from "../admin/overview.ts";
import type { Clock } from "../guard/clock.ts";
import { suggestCuts } from "../map/suggest.ts";
import { clusterMetrics, localMetrics, type MetricsSource } from "../metrics/cluster-metrics.ts";
import type { RolloutService } from "../rollout/rollout-service.ts";
import type { Stores } from "../store/open-stores.ts";
import type { DataPlaneWiring } from "./data-plane-wiring.ts";
import type { GuardWiring } from "./guard-wiring.ts";
import type { LiveState } from "./live-state.ts";
import type { MapWiring } from "./map-wiring.ts";
import type { ShadowWiring } from "./shadow-wiring.ts";
import type { WebhookWiring } from "./webhook-wiring.ts";

/** The admin listener's server and the endpoints its app registered. */
export interface AdminWiring {
  readonly server: Server;
  /** Method and path (`:param` form) of every endpoint, as registered: what the OpenAPI document must list. */
  endpoints(): ReadonlyArray<{ readonly method: string; readonly path: string }>;
}

export interface AdminDeps {
  readonly live: LiveState;
  readonly stores: Stores;
  readonly registry: Registry;
  readonly clock: Clock;
  readonly rollouts: RolloutService;
  readonly guards: GuardWiring;
  readonly shadow: ShadowWiring;
  readonly recorder: Recorder;
  readonly replays: ReplayService;
  readonly map: MapWiring;
  readonly dataPlane: DataPlaneWiring;
  readonly webhooks: WebhookWiring;
  readonly tokens: readonly AdminToken[];
  readonly bindHost: string;
  /** A worker of `--workers N`: `/metrics` answers the cluster's sum, collected by the primary. */
  readonly clusterWorker: boolean;
  readonly isServing: () => boolean;
  readonly fleet: () => Promise<unknown>;
  readonly logger: Logger;
}

/** The admin API, `/metrics`, the health probes and the cockpit, on a server of their own. */
export function wireAdmin(deps: AdminDeps): AdminWiring {
  const { live, stores, rollouts, dataPlane } = deps;
  const { evidence, migrations } = deps.guards;
  const { shadows } = deps.shadow;
  const config = live.config;
  const observed = dataPlane.observed;
  const overviewSources = {
    routes: () => live.config.routes,
    rollouts,
    migrations,
    evidence,
    shadows,
    shadowEvidence: stores.shadows,
    traffic: stores.evidence,
    // Where a write is read back at once (SQLite); on PostgreSQL the chart shows the judge's last fold.
    flushTraffic: () => (stores.evidence.foldedByJudge ? Promise.resolve() : evidence.flush()),
    clock: deps.clock,
    judgeEveryMs: () => live.config.guards.intervalMs,
    ...(observed ? { observed } : {}),
  };
  const metrics = deps.clusterWorker ? clusterMetrics(deps.registry, config.admin.metricsTimeoutMs) : localMetrics(deps.registry);
  const app = createAdminApp({
    map: async ({ hours, unclaimed }) => {
      const map = await deps.map.read(hours);
      return unclaimed ? { ...map, rows: map.rows.filter((r) => r.route === null) } : map;
    },
    suggest: async ({ hours, limit }) => {
      const map = await deps.map.read(hours);
      return { windowMs: map.windowMs, requests: map.requests, suggestions: suggestCuts(map, live.config.routes, Object.keys(live.config.backends), limit) };
    },
    fleet: deps.fleet,
    isServing: deps.isServing,
    isReady: () => deps.isServing() && stores.isHealthy() && dataPlane.providerReady(),
    tokens: deps.tokens,
    routes: () => live.config.routes,
    backends: () => live.current.backends,
    rollouts,
    shadows,
    shadowEvidence: stores.shadows,
    migrations,
    metrics: beforeScrape(metrics, dataPlane.publishGauges),
    overview: () => buildOverview(overviewSources),
    history: (routeId, hours) => buildHistory(overviewSources, routeId, hours),
    externallyManaged: () => config.openFeature !== undefined,
    ...(observed ? { observed } : {}),
    origin: { bindHost: deps.bindHost, allowedHosts: () => live.config.admin.allowedHosts },
    maxBodyBytes: config.admin.maxBodyBytes,
    replay: {
      backends: () => live.config.backends,
      noisePaths: (routeId, minOccurrences) => shadows.noise.noisePaths(routeId, minOccurrences),
      limits: () => live.config.shadowing,
      redaction: deps.shadow.redaction,
      timeoutMs: () => live.config.admin.replayTimeoutMs,
    },
    recordings: { recorder: deps.recorder, store: stores.recordings, maxExchanges: () => live.config.recording.maxExchanges },
    replays: { replays: deps.replays, store: stores.recordings, backendNames: () => Object.keys(live.config.backends) },
    access: () => live.config.admin,
    onRefusal: refusalReporter(deps.registry, deps.logger),
    webhooks: deps.webhooks,
  });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  return { server, endpoints: () => app.routes.filter((r) => r.method !== "ALL").map((r) => ({ method: r.method, path: r.path })) };
}

/**
 * Counts every refused admin call by its code, and logs it: at most one line a second, with how many
 * more there were (a token probing the API, or a page trying, is seen without flooding the log).
 */
function refusalReporter(registry: Registry, logger: Logger): (refusal: AdminRefusal) => void {
  const refusals = new Counter({
    name: "strangler_admin_refusals_total",
    help: "Admin API calls refused before they did anything: unauthorized, forbidden (role), forbidden_route, host_not_allowed, cross_origin_refused",
    labelNames: ["code"] as const,
    registers: [registry],
  });
  for (const code of ["unauthorized", "forbidden", "forbidden_route"]) refusals.labels(code).inc(0);
  let loggedAt = 0;
  let unlogged = 0;
  return (refusal) => {
    refusals.labels(refusal.code).inc();
    const now = Date.now();
    if (now - loggedAt < 1_000) {
      unlogged++;
      return;
    }
    loggedAt = now;
    logger.warn({ ...refusal, alsoRefusedSinceLastLine: unlogged }, "admin call refused");
    unlogged = 0;
  };
}

/** A metrics source that brings computed gauges up to date before it answers. */
function beforeScrape(source: MetricsSource, update: () => void): MetricsSource {
  return {
    contentType: source.contentType,
    text: () => {
      update();
      return source.text();
    },
  };
}
