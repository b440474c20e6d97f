import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { randomUUID } from "node:crypto";
import { createAdaptorServer } from "@hono/node-server";
import { NOOP_PROVIDER, OpenFeature, ProviderStatus } from "@openfeature/server-sdk";
import type { Logger } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";
import { clusterMetrics, localMetrics, type MetricsSource } from "./metrics/cluster-metrics.ts";
import { createAdminApp } from "./admin/admin-app.ts";
import { buildHistory, buildOverview } from "./admin/overview.ts";
import { checkAdminExposure, type AdminToken } from "./admin/admin-tokens.ts";
import { ConfigError } from "./config/config-error.ts";
import { loadConfigFile } from "./config/load-config.ts";
import type { RouteConfig, StranglerConfig } from "./config/schema.ts";
import { watchFile } from "./config/watch-config.ts";
import { createFlagDecider } from "./decision/decider.ts";
import { DecisionTally, tallying } from "./decision/decision-tally.ts";
import { StranglerRolloutProvider } from "./flags/rollout-provider.ts";
import { createLogger } from "./log/logger.ts";
import { createRepeatedEvents } from "./log/repeated-events.ts";
import { createProxyMetrics, type ProxyMetrics } from "./metrics/proxy-metrics.ts";
import { createRolloutService, type RolloutService } from "./rollout/rollout-service.ts";
import { createShadowMetrics, type ShadowMetrics } from "./metrics/shadow-metrics.ts";
import { systemClock, type Clock } from "./guard/clock.ts";
import { FleetEvidence } from "./guard/fleet-evidence.ts";
import { buildMap } from "./map/map-view.ts";
import { createAccessLog } from "./proxy/access-log.ts";
import { suggestCuts } from "./map/suggest.ts";
import { TrafficMap } from "./map/traffic-map.ts";
import { registerEvidenceMetrics, registerMapMetrics } from "./metrics/map-metrics.ts";
import { createGuardMetrics } from "./guard/guard-metrics.ts";
import { createMigrationService, type MigrationService } from "./guard/migration-service.ts";
import { createShadowRunner, type ShadowRunner } from "./shadow/shadow-runner.ts";
import { openStores, type Stores } from "./store/open-stores.ts";
import { joinFleet, newNodeId, type FleetPresence } from "./fleet/fleet-presence.ts";
import { holdJudgeLease, JUDGE_LEASE, type JudgeLease } from "./fleet/judge-lease.ts";
import type { ShadowStore } from "./store/shadow-store.ts";
import { NoiseModel } from "./shadow/noise-model.ts";
import { BackendPools } from "./proxy/backend-pool.ts";
import { buildProxyState } from "./proxy/build-state.ts";
import { CircuitBreakers } from "./proxy/circuit-breaker.ts";
import { applyServerLimits, createDataPlane } from "./proxy/data-plane.ts";
import type { ProxyState } from "./proxy/proxy-state.ts";
import { PACKAGE_VERSION } from "./version.ts";


export interface StranglerOptions {
  /** Path of `routes.config.ts`. */
  readonly configPath: string;
  /** Data plane port; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** Data plane address. Default `0.0.0.0`. */
  readonly host?: string;
  /** Admin listener port; 0 picks a free one. Default 9901. */
  readonly adminPort?: number;
  /** Admin listener address. Default `127.0.0.1`. */
  readonly adminHost?: string;
  /** Where state lives (`strangler.db`, SQLite) when there is no `databaseUrl`. Default `./data`. */
  readonly dataDir?: string;
  /** `postgres://…`: keep state on that PostgreSQL (a fleet of nodes sharing one migration) instead of SQLite. */
  readonly databaseUrl?: string | undefined;
  /** Bearer tokens for the admin API; none is allowed only on a loopback admin address. */
  readonly adminTokens?: readonly AdminToken[];
  /** Metrics registry; a fresh one per instance by default. */
  readonly registry?: Registry;
  /** A worker of `--workers N`: `/metrics` answers the sum over all workers, collected by the primary. */
  readonly clusterWorker?: boolean;
  /** How often to look for rollout changes made by other processes. Default 250 ms. */
  readonly pollMs?: number;
  /** Time for guard windows, promotion intervals and circuit breakers. Default the system clock. */
  readonly clock?: Clock;
  /** Evaluate guards and promotions on a timer (`guards.intervalMs`). Default true; tests call `migrations.tick()`. */
  readonly guardTimer?: boolean;
  /** Reload the config file when it changes. Default true. */
  readonly watch?: boolean;
  readonly logger?: Logger;
}

/** The outcome of a reload: applied, or refused with the reasons (the last good table keeps serving). */
export type ReloadResult = { readonly applied: true } | { readonly applied: false; readonly issues: readonly string[] };

/** A running proxy. */
export interface Strangler {
  readonly port: number;
  readonly adminPort: number;
  readonly url: string;
  readonly adminUrl: string;
  readonly state: () => ProxyState;
  readonly rollouts: RolloutService;
  readonly shadows: ShadowRunner;
  readonly shadowEvidence: ShadowStore;
  readonly migrations: MigrationService;
  /** This node's evidence on its way to the store, and the fleet's sum the guards judge. */
  readonly evidence: FleetEvidence;
  readonly registry: Registry;
  /** The admin listener's endpoints (method and path, `:param` form), as registered: what its OpenAPI document must list. */
  adminEndpoints(): ReadonlyArray<{ readonly method: string; readonly path: string }>;
  /** Reads the config file again now (the watcher calls this on every edit). */
  reload(): Promise<ReloadResult>;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`, default `server.shutdownGraceMs`), closes pools and listeners. */
  close(graceMs?: number): Promise<void>;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  server.listen(port, host);
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

function urlOf(host: string, port: number): string {
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}`;
}

/**
 * Starts the proxy: loads and validates the config, opens backend pools, the data plane and the admin
 * listener, and watches the config file.
 * @throws ConfigError when the config is invalid (nothing is left listening).
 *
 * @example
 * const proxy = await startStrangler({ configPath: "routes.config.ts", port: 0, adminPort: 0 });
 * await fetch(`${proxy.url}/api/products`);
 * await proxy.close();
 */
export async function startStrangler(options: StranglerOptions): Promise<Strangler> {
  const logger = options.logger ?? createLogger();
  const configPath = resolve(options.configPath);
  const config = await loadConfigFile(configPath);
  const adminHost = options.adminHost ?? "127.0.0.1";
  const tokens = options.adminTokens ?? [];
  checkAdminExposure(adminHost, tokens);

  const stores = await openStores({ dataDir: options.dataDir ?? "data", databaseUrl: options.databaseUrl, pollMs: options.pollMs, reconcileMs: config.fleet.reconcileMs });
  const nodeId = newNodeId();
  logger.info({ store: stores.kind }, stores.kind === "postgres" ? "state on PostgreSQL (DATABASE_URL)" : "state in the SQLite file of the data directory");
  const rollouts = await createRolloutService({ store: stores.rollouts, logger, watch: (onChange) => stores.watchRollouts(onChange) });
  const registry = options.registry ?? new Registry();
  // Process metrics (CPU, memory, event loop lag, handles), so an operator sees what the proxy itself costs.
  if (!options.registry) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 5 });
  const clock = options.clock ?? systemClock;
  // This node's evidence goes to the store; guards, promotion and the dashboard read the fleet's sum.
  const evidence = new FleetEvidence({ store: stores.evidence, nodeId, clock, logger, bucketMs: config.fleet.evidenceBucketMs, maxPendingMs: config.fleet.evidenceRetentionMs });
  const stopFlushing = evidence.start(config.fleet.evidenceFlushMs);
  // The migration map: every finished exchange folded into its endpoint template, merged in the store.
  const trieLimits = { maxNodes: config.map.maxTrieNodes, maxLiterals: config.map.maxLiterals, maxDepth: config.map.maxDepth };
  const trafficMap = new TrafficMap({ store: stores.map, clock, logger, limits: trieLimits });
  const stopMapping = trafficMap.start(config.map.flushMs);
  registerMapMetrics(registry, trafficMap, () => current.config.routes.map((r) => r.id));
  registerEvidenceMetrics(registry, evidence);
  const readMap = async (hours: number) => {
    await trafficMap.flush();
    const now = clock.now();
    const since = now - (now % 3_600_000) - (hours - 1) * 3_600_000;
    // N hour buckets, the current one included (so the window is up to N hours).
    return buildMap(await stores.map.read(since), current.config.routes, trieLimits, hours * 3_600_000);
  };
  const metrics = withEvidence(createProxyMetrics(registry), evidence);
  await rollouts.reconcile(config.routes);
  const pools = new BackendPools();
  const shadowPools = new BackendPools();
  let current = buildProxyState(config, pools, shadowPools);
  const shadowEvidence = stores.shadows;
  const guardMetrics = createGuardMetrics(registry);
  const shadowMetrics = createShadowMetrics(registry);
  // Every series a route can move exists from the start, at 0: rates and alerts need no first event.
  const initRouteSeries = (routes: readonly RouteConfig[]) => {
    for (const route of routes) {
      metrics.initRoute(route.id, route.fallback !== undefined);
      guardMetrics.initRoute(route.id, { guard: route.guard !== undefined, promote: route.promote !== undefined });
      if (route.shadow) shadowMetrics.initRoute(route.id);
    }
  };
  initRouteSeries(config.routes);
  // Every backend's breaker starts closed, and says so before its first change.
  const initBackendSeries = (names: readonly string[]) => {
    for (const name of names) metrics.circuit(name, "closed");
  };
  initBackendSeries(Object.keys(config.backends));
  const migrations = createMigrationService({
    routes: () => current.config.routes,
    rollouts,
    store: stores.migrations,
    evidence,
    clock,
    metrics: guardMetrics,
    logger,
    retireQuietPeriodMs: () => current.config.map.retireQuietPeriodMs,
    async monolithUse(routeId) {
      await trafficMap.flush();
      const rows = await stores.map.servedFor(routeId);
      const lastAt = rows.reduce<number | null>((last, r) => (r.lastLegacyAt === null ? last : last === null ? r.lastLegacyAt : Math.max(last, r.lastLegacyAt)), null);
      return { lastAt, templates: rows.map((r) => ({ method: r.method, template: r.template, lastMonolithAt: r.lastLegacyAt })) };
    },
  });
  await migrations.sync();
  rollouts.state.onChange(() => {
    migrations.sync().catch((error: Error) => logger.error({ err: error.message }, "could not follow the rollout in the migration state"));
  });
  const shadows = createShadowRunner({
    store: shadowEvidence,
    noise: await NoiseModel.load(shadowEvidence, config.routes.map((r) => r.id)),
    metrics: withShadowEvidence(shadowMetrics, evidence),
    limits: () => current.config.shadowing,
    logger,
    shouldShadow: (routeId) => !migrations.isRetired(routeId),
  });
  if (!config.openFeature) {
    publishRolloutGauges(metrics, rollouts, config, undefined);
    rollouts.state.onChange(() => publishRolloutGauges(metrics, rollouts, current.config, undefined));
  }

  // Each instance gets its own OpenFeature domain, so several proxies (or tests) in one process never share a provider.
  const domain = `strangler-fig:${randomUUID()}`;
  const provider = config.openFeature?.provider ?? new StranglerRolloutProvider(rollouts.state);
  await OpenFeature.setProviderAndWait(domain, provider);
  const client = OpenFeature.getClient(domain);
  const holder = {
    get current() {
      return current;
    },
  };
  let serving = false;
  const flagDecider = createFlagDecider({
    client,
    ...(provider instanceof StranglerRolloutProvider ? { syncProvider: provider } : {}),
    settings: () => ({ stickyCookie: current.config.stickyCookie, forceSecret: current.config.forceRouting?.secret }),
  });
  // An external provider owns the percentages: what it decides is tallied, and shown in their place.
  const tally = config.openFeature ? new DecisionTally(clock) : undefined;
  const decider = tally ? tallying(flagDecider, tally) : flagDecider;
  const observed = tally ? (routeId: string) => tally.share(routeId) : undefined;
  const observedGauges = tally ? publishObservedGauges(metrics, () => current.config, tally) : undefined;
  const breakers = new CircuitBreakers(clock, (backend, state) => {
    metrics.circuit(backend, state);
    logger.warn({ backend, state }, "circuit breaker changed");
  });
  const events = createRepeatedEvents(logger);
  const accessLog = createAccessLog(logger, () => current.config.accessLog.sampleRatio);
  const dataPlane = createDataPlane({ state: holder, decider, logger, metrics, shadows, breakers, events, traffic: trafficMap, accessLog });
  const overviewSources = {
    routes: () => current.config.routes,
    rollouts,
    migrations,
    evidence,
    shadows,
    shadowEvidence,
    traffic: stores.evidence,
    flushTraffic: () => evidence.flush(),
    clock,
    judgeEveryMs: () => current.config.guards.intervalMs,
    ...(observed ? { observed } : {}),
  };
  let presence: FleetPresence | undefined;
  const adminApp = createAdminApp({
    map: async ({ hours, unclaimed }) => {
      const map = await readMap(hours);
      return unclaimed ? { ...map, rows: map.rows.filter((r) => r.route === null) } : map;
    },
    suggest: async ({ hours, limit }) => {
      const map = await readMap(hours);
      return { windowMs: map.windowMs, requests: map.requests, suggestions: suggestCuts(map, current.config.routes, Object.keys(current.config.backends), limit) };
    },
    fleet: async () => {
      const [nodes, lease] = await Promise.all([presence ? presence.nodes() : [], stores.fleet.lease(JUDGE_LEASE)]);
      // An expired lease names nobody: its holder stopped renewing it, and the next try hands it on.
      const judge = lease && lease.expiresAt > Date.now() ? lease.holder : null;
      return { store: stores.kind, judge, nodes: nodes.map((n) => ({ ...n, judge: n.nodeId === judge })) };
    },
    isServing: () => serving,
    isReady: () => serving && stores.isHealthy() && client.providerStatus === ProviderStatus.READY,
    tokens,
    routes: () => current.config.routes,
    rollouts,
    shadows,
    shadowEvidence,
    migrations,
    metrics: beforeScrape(options.clusterWorker ? clusterMetrics(registry, config.admin.metricsTimeoutMs) : localMetrics(registry), () => observedGauges?.publish()),
    overview: () => buildOverview(overviewSources),
    history: (routeId, hours) => buildHistory(overviewSources, routeId, hours),
    externallyManaged: () => config.openFeature !== undefined,
    ...(observed ? { observed } : {}),
    origin: { bindHost: adminHost, allowedHosts: () => current.config.admin.allowedHosts },
    maxBodyBytes: config.admin.maxBodyBytes,
    replay: {
      backends: () => current.config.backends,
      noisePaths: (routeId, minOccurrences) => shadows.noise.noisePaths(routeId, minOccurrences),
      maxDecodedBytes: config.shadowing.maxDecodedBytes,
      exampleBodyBytes: config.shadowing.exampleBodyBytes,
      timeoutMs: () => current.config.admin.replayTimeoutMs,
    },
  });
  const admin = createAdaptorServer({ fetch: adminApp.fetch }) as Server;

  const host = options.host ?? "0.0.0.0";
  let port: number;
  let adminPort: number;
  try {
    adminPort = await listen(admin, options.adminPort ?? 9901, adminHost);
    port = await listen(dataPlane, options.port ?? 8080, host);
  } catch (error) {
    admin.close();
    dataPlane.close();
    await Promise.all([pools.close(true), shadowPools.close(true), shadows.close()]);
    rollouts.close();
    await stopFlushing();
    await stopMapping();
    await stores.close();
    await OpenFeature.setProviderAndWait(domain, NOOP_PROVIDER);
    throw error;
  }
  presence = await joinFleet(stores.fleet, { nodeId, address: `${host}:${port}`, version: PACKAGE_VERSION, heartbeatMs: config.fleet.heartbeatMs }, logger);
  serving = true;
  // One judge for the fleet (and for the workers of a host): whoever holds the lease runs guards and promotion.
  let lease: JudgeLease | undefined;
  let guards: { stop(): void; judgeNow(): void } | undefined;
  if (options.guardTimer !== false) {
    guards = migrations.schedule(() => current.config.guards.intervalMs, () => lease?.isJudge() ?? false);
    lease = holdJudgeLease({ store: stores.fleet, nodeId, ttlMs: () => current.config.guards.intervalMs, logger, onGained: () => guards?.judgeNow() });
  }
  const stopPruning = pruneEvidence(stores, () => lease?.isJudge() ?? false, clock, { evidenceMs: config.fleet.evidenceRetentionMs, mapMs: config.map.retentionMs, historyMs: config.shadowing.retentionDays * 86_400_000 }, logger);
  logger.info({ port, host, adminPort, adminHost, routes: config.routes.length, config: configPath }, "proxy listening");

  let reloading: Promise<ReloadResult> = Promise.resolve({ applied: true });
  async function reloadNow(): Promise<ReloadResult> {
    try {
      const next = await loadConfigFile(configPath);
      const previous = current.config;
      // Percentages first: if the database refuses, the reload is refused whole and the old table serves on.
      await rollouts.reconcile(next.routes);
      current = buildProxyState(next, pools, shadowPools);
      applyServerLimits(dataPlane, next.server);
      initRouteSeries(next.routes);
      initBackendSeries(Object.keys(next.backends).filter((name) => !Object.hasOwn(previous.backends, name)));
      await migrations.sync();
      if (!tally) publishRolloutGauges(metrics, rollouts, next, previous);
      logger.info({ routes: next.routes.length }, "config reloaded");
      return { applied: true };
    } catch (error) {
      const issues = error instanceof ConfigError ? error.issues : [(error as Error).message];
      logger.error({ issues, config: configPath }, "config reload refused; the last good config keeps serving");
      return { applied: false, issues };
    }
  }
  // Reloads run one at a time, in order, so the last edit is the one that wins.
  const reload = (): Promise<ReloadResult> => (reloading = reloading.then(reloadNow, reloadNow));
  const stopWatching = options.watch === false ? () => undefined : watchFile(configPath, () => void reload());

  return {
    port,
    adminPort,
    url: urlOf(host, port),
    adminUrl: urlOf(adminHost, adminPort),
    state: () => current,
    rollouts,
    shadows,
    shadowEvidence,
    migrations,
    evidence,
    registry,
    adminEndpoints: () => adminApp.routes.filter((r) => r.method !== "ALL").map((r) => ({ method: r.method, path: r.path })),
    reload,
    async close(graceMs = current.config.server.shutdownGraceMs) {
      stopWatching();
      guards?.stop();
      stopPruning();
      observedGauges?.stop();
      serving = false;
      const closed = Promise.all([
        new Promise<void>((r) => dataPlane.close(() => r())),
        new Promise<void>((r) => admin.close(() => r())),
      ]);
      dataPlane.closeIdleConnections();
      admin.closeIdleConnections();
      const timer = setTimeout(() => {
        dataPlane.closeAllConnections();
        admin.closeAllConnections();
      }, graceMs);
      await closed;
      clearTimeout(timer);
      await Promise.all([pools.close(true), shadowPools.close(true)]);
      await shadows.close(); // writes the evidence still queued
      events.close();
      rollouts.close();
      await lease?.stop();
      await stopFlushing();
      await stopMapping();
      await presence?.leave();
      await stores.close();
      // Replacing our provider closes it and releases this instance's domain.
      await OpenFeature.setProviderAndWait(domain, NOOP_PROVIDER);
    },
  };
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

/**
 * The judge deletes stored evidence, traffic history and map counts past their retention, once a minute.
 * The traffic history is kept as long as shadow outcomes (`shadowing.retentionDays`): the dashboard
 * charts them side by side. Returns the stop function.
 */
function pruneEvidence(stores: Stores, isJudge: () => boolean, clock: Clock, retention: { evidenceMs: number; mapMs: number; historyMs: number }, logger: Logger): () => void {
  const timer = setInterval(() => {
    if (!isJudge()) return;
    const warn = (error: Error) => logger.warn({ err: error.message }, "could not prune old evidence");
    stores.evidence.prune(clock.now() - retention.evidenceMs).catch(warn);
    stores.evidence.pruneHistory(Math.floor((clock.now() - retention.historyMs) / 60_000)).catch(warn);
    stores.map.prune(clock.now() - retention.mapMs).catch(warn);
  }, 60_000);
  timer.unref();
  return () => clearInterval(timer);
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

/** Shadow metrics that also feed the fleet's evidence. */
function withShadowEvidence(metrics: ShadowMetrics, window: FleetEvidence): ShadowMetrics {
  return {
    ...metrics,
    outcome(route, outcome) {
      metrics.outcome(route, outcome);
      window.shadow(route, outcome);
    },
  };
}
