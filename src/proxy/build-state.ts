import type { StranglerConfig } from "../config/schema.ts";
import { buildRouteTable } from "../routing/route-table.ts";
import type { BackendPools } from "./backend-pool.ts";
import type { ProxyState } from "./proxy-state.ts";
import { trustedProxies } from "../edge/trusted-proxies.ts";

/** Builds the data plane's immutable state from a validated config, reusing unchanged backend pools. */
export function buildProxyState(config: StranglerConfig, pools: BackendPools): ProxyState {
  const table = buildRouteTable(config.routes);
  const backends = pools.update(config.backends);
  const legacy = backends.get("legacy");
  if (!legacy) throw new Error("validated config has no legacy backend"); // the schema requires one
  return { config, table, backends, legacy, trusted: trustedProxies(config.server.trustedProxies), legacyOf: (route) => backends.get(route.config.legacy) ?? legacy };
}
