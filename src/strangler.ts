import { once } from "node:events";
import type { AddressInfo, Server } from "node:net";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";
import { checkAdminExposure, type AdminToken } from "./admin/admin-tokens.ts";
import { startUpKeysChanged } from "./config/read-at-start-up.ts";
import { ConfigError } from "./config/config-error.ts";
import { loadConfigFile } from "./config/load-config.ts";
import type { RouteConfig } from "./config/schema.ts";
import { watchFile } from "./config/watch-config.ts";
import { systemClock, type Clock } from "./guard/clock.ts";
import type { FleetEvidence } from "./guard/fleet-evidence.ts";
import type { MigrationService } from "./guard/migration-service.ts";
import { createLogger } from "./log/logger.ts";
import { newNodeId } from "./fleet/fleet-presence.ts";
import { applyServerLimits } from "./proxy/data-plane.ts";
import type { ProxyState } from "./proxy/proxy-state.ts";
import { createRolloutService, type RolloutService } from "./rollout/rollout-service.ts";
import type { ShadowRunner } from "./shadow/shadow-runner.ts";
import { openStores } from "./store/open-stores.ts";
import type { ShadowStore } from "./store/shadow-store.ts";
import { wireAdmin } from "./wiring/admin-wiring.ts";
import { wireDataPlane } from "./wiring/data-plane-wiring.ts";
import { fleetViewBeforeJoining, wireFleet, type FleetWiring } from "./wiring/fleet-wiring.ts";
import { wireGuards } from "./wiring/guard-wiring.ts";
import { LiveState } from "./wiring/live-state.ts";
import { systemLookup, type Lookup } from "./proxy/dns-refresh.ts";
import { wireMap } from "./wiring/map-wiring.ts";
import { wireWebhooks } from "./wiring/webhook-wiring.ts";
import { wireShadow } from "./wiring/shadow-wiring.ts";
import { wireRecording } from "./wiring/recording-wiring.ts";
import { wireReplay } from "./wiring/replay-wiring.ts";
import { wireEdge, type EdgeWiring } from "./wiring/edge-wiring.ts";
import { createEdgeMetrics } from "./metrics/edge-metrics.ts";
import { NO_TRUSTED_PROXIES } from "./edge/trusted-proxies.ts";

/** How often the judge looks for migration events to deliver: about a second from a change to its webhook. */
const WEBHOOK_PASS_MS = 1_000;

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
  /** With `databaseUrl`: a second PostgreSQL database for the fleet's evidence and shadow results (see docs/fleet.md). */
  readonly evidenceDatabaseUrl?: string | undefined;
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
  /** How backends' host names are resolved (the DNS refresh of `dnsRefreshMs`). Default the system's (`dns.lookup`). */
  readonly lookup?: Lookup;
  /** Evaluate guards and promotions on a timer (`guards.intervalMs`). Default true; tests call `migrations.tick()`. */
  readonly guardTimer?: boolean;
  /**
   * This node's wall clock, for its fleet heartbeats and for timing the judge's lease it holds. Default
   * `Date.now`; tests skew it to play nodes whose clocks disagree (the lease is timed by the store's clock).
   */
  readonly wallClock?: () => number;
  /** Reload the config file when it changes. Default true. */
  readonly watch?: boolean;
  readonly logger?: Logger;
}

/** The outcome of a reload: applied, or refused with the reasons (the last good table keeps serving). */
export type ReloadResult =
  /** `unapplied`: keys read at start-up whose change waits for a restart (absent when none changed). */
  | { readonly applied: true; readonly unapplied?: readonly string[] }
  | { readonly applied: false; readonly issues: readonly string[] };

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
  /** True while this node holds the fleet judge's lease: it judges guards and promotion, and delivers webhooks. */
  judging(): boolean;
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

function urlOf(scheme: "http" | "https", host: string, port: number): string {
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return `${scheme}://${shown.includes(":") ? `[${shown}]` : shown}:${port}`;
}

/**
 * Starts the proxy: loads and validates the config, opens the stores, wires each subsystem (map, guards,
 * shadow, data plane, admin; see src/wiring/), listens, joins the fleet, and watches the config file.
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
  // A grant for a label no token has is a typo, or a token not yet given: either way, nobody holds it.
  for (const label of Object.keys(config.admin.grants)) {
    if (!tokens.some((t) => t.label === label)) logger.warn({ label }, "admin.grants names a token label that no admin token has (STRANGLER_ADMIN_TOKENS)");
  }

  const stores = await openStores({ dataDir: options.dataDir ?? "data", databaseUrl: options.databaseUrl, evidenceDatabaseUrl: options.evidenceDatabaseUrl, pollMs: options.pollMs, reconcileMs: config.fleet.reconcileMs, outboxMs: config.fleet.evidenceFlushMs });
  const nodeId = newNodeId();
  logger.info(
    { store: stores.kind },
    stores.kind === "sqlite" ? "state in the SQLite file of the data directory" : options.evidenceDatabaseUrl ? "state on PostgreSQL (DATABASE_URL), evidence on its own (EVIDENCE_DATABASE_URL)" : "state on PostgreSQL (DATABASE_URL)",
  );
  const rollouts = await createRolloutService({ store: stores.rollouts, logger, watch: (onChange) => stores.watchRollouts(onChange) });
  const registry = options.registry ?? new Registry();
  // Process metrics (CPU, memory, event loop lag, handles), so an operator sees what the proxy itself costs.
  if (!options.registry) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 5 });
  const clock = options.clock ?? systemClock;
  await rollouts.reconcile(config.routes);
  const live = new LiveState(config, { clock, lookup: options.lookup ?? systemLookup });

  const map = wireMap({ stores, clock, logger, registry, live });
  const guards = await wireGuards({ stores, nodeId, clock, logger, registry, live, rollouts, map });
  const shadow = await wireShadow({ stores, logger, registry, live, evidence: guards.evidence, migrations: guards.migrations });
  const recorder = await wireRecording({ stores, logger, live, redaction: shadow.redaction });
  const replays = wireReplay({ stores, live, logger, redaction: shadow.redaction, noise: shadow.shadows.noise, migrations: guards.migrations });
  let fleet: FleetWiring | undefined;
  const webhooks = wireWebhooks({ stores, live, logger, registry, shadows: shadow.shadows, isDeliverer: () => fleet?.isJudge() ?? false });
  await webhooks.register();
  const dataPlane = await wireDataPlane({ live, registry, logger, clock, rollouts, evidence: guards.evidence, shadows: shadow.shadows, recorder, traffic: map.traffic });
  // Every series a route can move exists from the start, at 0: rates and alerts need no first event.
  const initRouteSeries = (routes: readonly RouteConfig[]) => {
    for (const route of routes) {
      dataPlane.metrics.initRoute(route.id, route.fallback !== undefined);
      guards.metrics.initRoute(route.id, { guard: route.guard !== undefined, promote: route.promote !== undefined });
      if (route.shadow) shadow.metrics.initRoute(route.id);
    }
  };
  initRouteSeries(config.routes);
  let serving = false;
  const admin = wireAdmin({
    live, stores, registry, clock, rollouts, guards, shadow, recorder, replays, map, dataPlane, webhooks, tokens,
    bindHost: adminHost,
    clusterWorker: options.clusterWorker === true,
    isServing: () => serving,
    fleet: () => (fleet ? fleet.view() : fleetViewBeforeJoining(stores)),
    logger,
  });

  const host = options.host ?? "0.0.0.0";
  const edgeMetrics = createEdgeMetrics(registry);
  let dataEdge: EdgeWiring | undefined;
  let adminEdge: EdgeWiring | undefined;
  let port: number;
  let adminPort: number;
  try {
    // The edge: the listeners in front of the data plane and the admin API (TLS, HTTP/2, PROXY protocol).
    const http2 = config.server.http2;
    dataEdge = await wireEdge({
      name: "data",
      tlsKey: "server.tls",
      tls: config.server.tls,
      configPath,
      http1: dataPlane.servers.http1,
      http2: (config.server.tls && http2.enabled) || (!config.server.tls && http2.h2c) ? dataPlane.servers.http2 : undefined,
      h2c: http2.h2c,
      proxyProtocol: config.server.proxyProtocol,
      trusted: () => live.current.trusted,
      maxConnections: () => live.config.server.maxConnections,
      firstBytesTimeoutMs: () => live.config.server.headersTimeoutMs,
      metrics: edgeMetrics,
      logger,
    });
    adminEdge = await wireEdge({
      name: "admin",
      tlsKey: "admin.tls",
      tls: config.admin.tls,
      configPath,
      http1: admin.server,
      h2c: false,
      proxyProtocol: false,
      trusted: () => NO_TRUSTED_PROXIES,
      maxConnections: () => Number.POSITIVE_INFINITY,
      firstBytesTimeoutMs: () => live.config.server.headersTimeoutMs,
      metrics: edgeMetrics,
      logger,
    });
    // A hard stop at accept, well past the soft bound whose connections are answered 503 (the data plane's).
    dataEdge.listener.server.maxConnections = config.server.maxConnections * 2;
    adminPort = await listen(adminEdge.listener.server, options.adminPort ?? 9901, adminHost);
    port = await listen(dataEdge.listener.server, options.port ?? 8080, host);
  } catch (error) {
    dataEdge?.stop();
    adminEdge?.stop();
    dataEdge?.listener.server.close();
    adminEdge?.listener.server.close();
    await Promise.all([live.closePools(), shadow.shadows.close(), recorder.close(), replays.close()]);
    rollouts.close();
    await guards.stop();
    await map.stop();
    await stores.close();
    await dataPlane.close();
    throw error;
  }
  const edges = [dataEdge, adminEdge] as const;
  fleet = await wireFleet({ stores, nodeId, address: `${host}:${port}`, clock, logger, live, migrations: guards.migrations, guardTimer: options.guardTimer !== false, wallClock: options.wallClock ?? Date.now });
  const stopWebhooks = webhooks.start(WEBHOOK_PASS_MS);
  serving = true;
  logger.info({ port, host, adminPort, adminHost, routes: config.routes.length, config: configPath }, "proxy listening");

  const startedWith = config;
  let reloading: Promise<ReloadResult> = Promise.resolve({ applied: true });
  async function reloadNow(): Promise<ReloadResult> {
    try {
      const next = await loadConfigFile(configPath);
      const previous = live.config;
      // Percentages first: if the database refuses, the reload is refused whole and the old table serves on.
      await rollouts.reconcile(next.routes);
      live.replace(next);
      applyServerLimits(dataPlane.servers, next.server);
      edges[0].listener.server.maxConnections = next.server.maxConnections * 2;
      initRouteSeries(next.routes);
      dataPlane.reloaded(next, previous);
      await guards.migrations.sync();
      // A failure here must not read as a refused reload: the config is in force; the judge places the webhook itself later.
      await webhooks.register().catch((error: Error) => logger.error({ err: error.message }, "could not place the webhooks in the audit trail"));
      logger.info({ routes: next.routes.length }, "config reloaded");
      // Against the config the proxy started with: that is what its start-up keys still hold.
      const unapplied = startUpKeysChanged(startedWith, next);
      if (unapplied.length === 0) return { applied: true };
      logger.warn({ keys: unapplied, config: configPath }, "config reloaded, but these keys are read at start-up: restart the proxy to apply them");
      return { applied: true, unapplied };
    } catch (error) {
      const issues = error instanceof ConfigError ? error.issues : [(error as Error).message];
      logger.error({ issues, config: configPath }, "config reload refused; the last good config keeps serving");
      return { applied: false, issues };
    }
  }
  // Reloads run one at a time, in order, so the last edit is the one that wins.
  const reload = (): Promise<ReloadResult> => (reloading = reloading.then(reloadNow, reloadNow));
  const stopWatching = options.watch === false ? () => undefined : watchFile(configPath, () => void reload());
  const joined = fleet;

  return {
    port,
    adminPort,
    url: urlOf(dataEdge.scheme, host, port),
    adminUrl: urlOf(adminEdge.scheme, adminHost, adminPort),
    state: () => live.current,
    rollouts,
    shadows: shadow.shadows,
    shadowEvidence: stores.shadows,
    migrations: guards.migrations,
    evidence: guards.evidence,
    registry,
    adminEndpoints: admin.endpoints,
    judging: () => joined.isJudge(),
    reload,
    async close(graceMs = live.config.server.shutdownGraceMs) {
      stopWatching();
      const stoppedJudging = joined.stopJudging();
      dataPlane.stopTimers();
      serving = false;
      for (const edge of edges) edge.stop();
      await Promise.all(edges.map((edge) => edge.listener.close(graceMs)));
      await live.closePools();
      await shadow.shadows.close(); // writes the evidence still queued
      await recorder.close(); // and the recorded exchanges
      await replays.close(); // runs in progress end as aborted, in the store
      await dataPlane.close();
      rollouts.close();
      await stoppedJudging;
      await stopWebhooks();
      await guards.stop();
      await map.stop();
      await joined.leave();
      await stores.close();
    },
  };
}
