import type { StranglerConfig } from "../config/schema.ts";
import type { RouteTable } from "../routing/route-table.ts";
import type { CompiledRoute } from "../routing/route-table.ts";
import type { Backend } from "./backend-pool.ts";
import type { TrustedProxies } from "../edge/trusted-proxies.ts";

/**
 * Everything the data plane reads per request, built from one validated config. Immutable: a reload
 * builds a new one and swaps a single reference, so each request sees one whole table, old or new.
 */
export interface ProxyState {
  readonly config: StranglerConfig;
  readonly table: RouteTable;
  /** The backends by name; shadow copies use each destination's shadow pool (see destination.ts). */
  readonly backends: ReadonlyMap<string, Backend>;
  readonly legacy: Backend;
  /** The peers whose `X-Forwarded-*` are believed (`server.trustedProxies`). */
  readonly trusted: TrustedProxies;
  /** The legacy backend of a route (its `legacy`, the monolith by default). */
  readonly legacyOf: (route: CompiledRoute) => Backend;
}

/** Holds the current state; the data plane reads `current` once per request. */
export interface StateHolder {
  readonly current: ProxyState;
}
