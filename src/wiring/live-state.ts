import type { StranglerConfig } from "../config/schema.ts";
import { BackendPools } from "../proxy/backend-pool.ts";
import { buildProxyState } from "../proxy/build-state.ts";
import type { ProxyState, StateHolder } from "../proxy/proxy-state.ts";

/**
 * The proxy's one mutable reference: the state every subsystem reads (`current`), rebuilt whole from
 * each accepted config over the same backend pools, so a reload never drops a connection.
 */
export class LiveState implements StateHolder {
  readonly pools = new BackendPools();
  /** The shadows' own pools: a slow shadow never takes the client's connections. */
  readonly shadowPools = new BackendPools();
  #current: ProxyState;

  constructor(config: StranglerConfig) {
    this.#current = buildProxyState(config, this.pools, this.shadowPools);
  }

  get current(): ProxyState {
    return this.#current;
  }

  /** The config in force (shorthand for `current.config`). */
  get config(): StranglerConfig {
    return this.#current.config;
  }

  /** Swaps in the state of a new config: each request already under way keeps the table it started with. */
  replace(config: StranglerConfig): void {
    this.#current = buildProxyState(config, this.pools, this.shadowPools);
  }

  async closePools(): Promise<void> {
    await Promise.all([this.pools.close(true), this.shadowPools.close(true)]);
  }
}
