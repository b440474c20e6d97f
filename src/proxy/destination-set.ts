import { isIP } from "node:net";
import type { BackendConfig } from "../config/schema.ts";
import type { Clock } from "../guard/clock.ts";
import { Destination, type DestinationAddress, type DestinationObserver } from "./destination.ts";
import { HealthChecks } from "./health-checks.ts";
import { DnsRefresh, type Lookup } from "./dns-refresh.ts";

/** What a destination set needs from the proxy: time, name resolution, and who hears of changes. */
export interface DestinationDeps {
  readonly clock: Clock;
  readonly lookup: Lookup;
  readonly observer: DestinationObserver & {
    /** A host name's addresses changed: `added` and `removed` destinations (origins). */
    destinationsChanged(backend: string, added: readonly string[], removed: readonly string[]): void;
    /** A host name stopped resolving (`error`: the destinations there were are kept), or resolves again (undefined). */
    resolutionChanged(backend: string, hostname: string, error: string | undefined): void;
  };
}

/** A random integer in [0, n). */
const randomBelow = (n: number): number => Math.floor(Math.random() * n);

/**
 * The instances of one backend, and how a request picks one: of the destinations in service (healthy,
 * and whose breaker lets requests through), two at random, and the one with fewer requests in flight
 * (power of two choices, YARP's default). When every destination is unhealthy, all of them are in service
 * again (fail open, as Envoy's panic threshold does): a health check that is wrong everywhere must not
 * take the whole backend down.
 */
export class DestinationSet {
  #all: Destination[];
  /** Destinations that left (DNS, a reload) and are finishing their requests. */
  readonly #leaving = new Set<Destination>();
  /** Retries sent and not yet finished (see retryAllowed). */
  retriesInFlight = 0;
  readonly #health: HealthChecks | undefined;
  readonly #dns: DnsRefresh | undefined;

  constructor(
    readonly name: string,
    readonly config: BackendConfig,
    private readonly deps: DestinationDeps,
  ) {
    this.#all = config.urls.map((url) => new Destination(name, { url, address: undefined }, config, deps.clock, deps.observer));
    this.#health = config.healthCheck ? new HealthChecks(this, config.healthCheck, deps.clock, deps.observer) : undefined;
    const named = config.urls.filter((url) => isIP(new URL(url).hostname.replace(/^\[|\]$/g, "")) === 0);
    this.#dns = config.dnsRefreshMs > 0 && named.length > 0 ? new DnsRefresh(this, named, config.dnsRefreshMs, deps.lookup) : undefined;
  }

  /** Starts the health checks and the re-resolution of host names (each runs off the event loop's way, unref'd). */
  start(): void {
    this.#dns?.start();
    this.#health?.start();
  }

  /** The destinations in service or out of it, but not those leaving. */
  get destinations(): readonly Destination[] {
    return this.#all;
  }

  /** Every destination is unhealthy, so all of them take traffic (fail open). */
  get failingOpen(): boolean {
    if (!this.#health) return false;
    for (const d of this.#all) if (d.healthy) return false;
    return this.#all.length > 0;
  }

  /**
   * The destination for a request, other than `excluded` (the one a retry failed on); undefined when
   * none may take it (every breaker open). With one destination, that one: its breaker then decides.
   */
  pick(excluded?: Destination): Destination | undefined {
    const all = this.#all;
    if (all.length === 1) {
      const only = all[0] as Destination;
      return only === excluded ? undefined : only;
    }
    // Counted, then drawn by rank, so a request allocates nothing; fail open when none is healthy.
    let healthyOnly = true;
    let n = countEligible(all, excluded, true);
    if (n === 0) {
      healthyOnly = false;
      n = countEligible(all, excluded, false);
    }
    if (n === 0) return undefined;
    if (n === 1) return nthEligible(all, excluded, healthyOnly, 0);
    const i = randomBelow(n);
    let j = randomBelow(n - 1);
    if (j >= i) j++;
    const a = nthEligible(all, excluded, healthyOnly, i) as Destination;
    const b = nthEligible(all, excluded, healthyOnly, j) as Destination;
    return b.load.inFlight < a.load.inFlight ? b : a;
  }

  /**
   * The destination for a copy that goes whatever the breakers say (a shadow copy, a WebSocket): the
   * picked one, or with every breaker open the first, whose failure is then that copy's answer.
   */
  pickAny(): Destination {
    return this.pick() ?? (this.#all[0] as Destination);
  }

  /** Whether one more retry may start: fewer in flight than the budget's share of the backend's requests, or its floor. */
  retryAllowed(retries: BackendConfig["retries"]): boolean {
    if (retries === false) return false;
    let inFlight = 0;
    for (const d of this.#all) inFlight += d.load.inFlight;
    return this.retriesInFlight < Math.max(retries.minConcurrent, Math.floor((inFlight * retries.budgetPercent) / 100));
  }

  /** A connection to one of them failed: its host name may have moved (resolved again, at most once a second). */
  connectionFailed(): void {
    this.#dns?.soon();
  }

  /**
   * Sets the destinations of a host name-backed URL to `addresses`: new ones join (healthy until checked),
   * those gone leave and drain. Called by the DNS refresh.
   */
  resolved(url: string, addresses: readonly string[]): void {
    const wanted = new Map(addresses.map((address) => [address, address]));
    const kept: Destination[] = [];
    const removed: Destination[] = [];
    for (const d of this.#all) {
      if (d.url !== url) kept.push(d);
      else if (d.address !== undefined && wanted.delete(d.address)) kept.push(d);
      else removed.push(d);
    }
    if (removed.length === 0 && wanted.size === 0) return;
    const added = [...wanted.keys()].map((address) => new Destination(this.name, { url, address } satisfies DestinationAddress, this.config, this.deps.clock, this.deps.observer));
    this.#all = [...kept, ...added];
    for (const d of removed) this.#drain(d);
    this.#health?.checkNow(added);
    this.deps.observer.destinationsChanged(this.name, added.map((d) => d.origin), removed.map((d) => d.origin));
  }

  /** Called by the DNS refresh: see DestinationDeps' observer. */
  resolutionChanged(hostname: string, error: string | undefined): void {
    this.deps.observer.resolutionChanged(this.name, hostname, error);
  }

  /** Takes no new requests on `d`, and closes its pools once their requests are done. */
  #drain(d: Destination): void {
    d.leaving = true;
    this.#leaving.add(d);
    void d.close(false).finally(() => this.#leaving.delete(d));
  }

  /** Stops the timers and closes every pool: after their requests finish, or at once when `force` is set. */
  async close(force: boolean): Promise<void> {
    this.#health?.stop();
    this.#dns?.stop();
    const all = [...this.#all, ...this.#leaving];
    for (const d of this.#all) d.leaving = true;
    this.#all = [];
    await Promise.all(all.map((d) => d.close(force)));
  }
}

function eligible(d: Destination, excluded: Destination | undefined, healthyOnly: boolean): boolean {
  return d !== excluded && (!healthyOnly || d.healthy) && d.available;
}

function countEligible(all: readonly Destination[], excluded: Destination | undefined, healthyOnly: boolean): number {
  let n = 0;
  for (const d of all) if (eligible(d, excluded, healthyOnly)) n++;
  return n;
}

function nthEligible(all: readonly Destination[], excluded: Destination | undefined, healthyOnly: boolean, rank: number): Destination | undefined {
  let seen = 0;
  for (const d of all) {
    if (!eligible(d, excluded, healthyOnly)) continue;
    if (seen === rank) return d;
    seen++;
  }
  return undefined;
}
