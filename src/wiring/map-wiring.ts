import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Clock } from "../guard/clock.ts";
import { buildMap, type MigrationMap } from "../map/map-view.ts";
import { TrafficMap } from "../map/traffic-map.ts";
import { registerMapMetrics } from "../metrics/map-metrics.ts";
import type { Stores } from "../store/open-stores.ts";
import type { LiveState } from "./live-state.ts";

/** The migration map as the proxy runs it: what records traffic, what reads the map, and the stop. */
export interface MapWiring {
  readonly traffic: TrafficMap;
  /** The map over the last `hours` hour buckets (the current one included), this node's counts flushed first. */
  read(hours: number): Promise<MigrationMap>;
  /** Templates of a route the monolith served, and when it last did: what retiring a route asks. */
  monolithUse(routeId: string): Promise<{ lastAt: number | null; templates: Array<{ method: string; template: string; lastMonolithAt: number | null }> }>;
  stop(): Promise<void>;
}

/** Every finished exchange folded into its endpoint template, merged in the store on a timer (`map.flushMs`). */
export function wireMap(deps: { readonly stores: Stores; readonly clock: Clock; readonly logger: Logger; readonly registry: Registry; readonly live: LiveState }): MapWiring {
  const { stores, clock, logger, live } = deps;
  const map = live.config.map;
  const trieLimits = { maxNodes: map.maxTrieNodes, maxLiterals: map.maxLiterals, maxDepth: map.maxDepth };
  const traffic = new TrafficMap({ store: stores.map, clock, logger, limits: trieLimits });
  const stop = traffic.start(map.flushMs);
  registerMapMetrics(deps.registry, traffic, () => live.config.routes.map((r) => r.id));
  return {
    traffic,
    async read(hours) {
      // Read back at once (SQLite): this process's last exchanges count too; PostgreSQL shows the judge's last fold.
      if (!stores.map.foldedByJudge) await traffic.flush();
      const now = clock.now();
      const since = now - (now % 3_600_000) - (hours - 1) * 3_600_000;
      return buildMap(await stores.map.read(since), live.config.routes, trieLimits, hours * 3_600_000);
    },
    async monolithUse(routeId) {
      if (!stores.map.foldedByJudge) await traffic.flush();
      const rows = await stores.map.servedFor(routeId);
      const lastAt = rows.reduce<number | null>((last, r) => (r.lastLegacyAt === null ? last : last === null ? r.lastLegacyAt : Math.max(last, r.lastLegacyAt)), null);
      return { lastAt, templates: rows.map((r) => ({ method: r.method, template: r.template, lastMonolithAt: r.lastLegacyAt })) };
    },
    stop,
  };
}
