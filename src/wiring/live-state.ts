import type { StranglerConfig } from "../config/schema.ts";
import type { Clock } from "../guard/clock.ts";
import { BackendPools } from "../proxy/backend-pool.ts";
import { buildProxyState } from "../proxy/build-state.ts";
import type { CircuitState } from "../proxy/circuit-breaker.ts";
import type { DestinationDeps } from "../proxy/destination-set.ts";
import type { Lookup } from "../proxy/dns-refresh.ts";
import type { ProxyState, StateHolder } from "../proxy/proxy-state.ts";

/** What happens to destinations: breakers, health, addresses (the metrics and the log listen). */
export type DestinationListener = DestinationDeps["observer"];

/** Passes destinations' events to listeners that join later (the pools open before the metrics exist). */
class DestinationEvents implements DestinationListener {
  readonly #listeners: DestinationListener[] = [];

  listen(listener: DestinationListener): void {
    this.#listeners.push(listener);
  }

  circuitChanged(backend: string, destination: string, state: CircuitState): void {
    for (const l of this.#listeners) l.circuitChanged(backend, destination, state);
  }

  healthChanged(backend: string, destination: string, healthy: boolean, detail: string): void {
    for (const l of this.#listeners) l.healthChanged(backend, destination, healthy, detail);
  }

  destinationsChanged(backend: string, added: readonly string[], removed: readonly string[]): void {
    for (const l of this.#listeners) l.destinationsChanged(backend, added, removed);
  }

  resolutionChanged(backend: string, hostname: string, error: string | undefined): void {
    for (const l of this.#listeners) l.resolutionChanged(backend, hostname, error);
  }
}

/**
 * The proxy's one mutable reference: the state every subsystem reads (`current`), rebuilt whole from
 * each accepted config over the same backend pools, so a reload never drops a connection.
 */
export class LiveState implements StateHolder {
  readonly destinationEvents = new DestinationEvents();
  readonly pools: BackendPools;
  #current: ProxyState;

  constructor(config: StranglerConfig, deps: { readonly clock: Clock; readonly lookup: Lookup }) {
    this.pools = new BackendPools({ clock: deps.clock, lookup: deps.lookup, observer: this.destinationEvents });
    this.#current = buildProxyState(config, this.pools);
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
    this.#current = buildProxyState(config, this.pools);
  }

  async closePools(): Promise<void> {
    await this.pools.close(true);
  }
}
