import { Pool } from "undici";
import type { BackendConfig } from "../config/schema.ts";
import type { Clock } from "../guard/clock.ts";
import { CircuitBreaker, type CircuitState } from "./circuit-breaker.ts";

/** Requests a destination's pool is carrying now, counted by the data plane (see admission.ts). */
export interface BackendLoad {
  /** Requests sent and not yet finished: those beyond `maxSockets` wait for a connection. */
  inFlight: number;
  /** Of those, requests whose body is still streaming from the client. */
  streamingUploads: number;
}

/** What a destination tells about itself as it changes: its breaker, its health. */
export interface DestinationObserver {
  circuitChanged(backend: string, destination: string, state: CircuitState): void;
  healthChanged(backend: string, destination: string, healthy: boolean, detail: string): void;
}

/** Where a destination is reached: the configured URL, and the address it resolved to (if the proxy resolves it). */
export interface DestinationAddress {
  /** The URL as configured (`http://catalog.internal:8080/base`). */
  readonly url: string;
  /** The resolved IP address, when the proxy resolved the URL's host name; undefined for an IP literal, or one left to each connection. */
  readonly address: string | undefined;
}

/** The origin a destination connects to: the URL's, with its host replaced by the resolved address. */
function originOf(url: URL, address: string | undefined): string {
  if (address === undefined) return url.origin;
  const host = address.includes(":") ? `[${address}]` : address;
  return `${url.protocol}//${host}${url.port === "" ? "" : `:${url.port}`}`;
}

/**
 * One instance of a backend: its own keep-alive pool (and a second one for shadow copies, opened on first
 * use, so a slow shadow never takes the client's connections), its in-flight counts, its circuit breaker
 * (passive ejection) and its active health.
 */
export class Destination {
  /** `scheme://host:port` connected to: the metrics' and the admin API's name for it. */
  readonly origin: string;
  /** The configured URL. */
  readonly url: string;
  /** The resolved address, if any (see DestinationAddress). */
  readonly address: string | undefined;
  /** `host:port` sent as the Host header: the configured URL's. */
  readonly host: string;
  readonly pool: Pool;
  readonly load: BackendLoad = { inFlight: 0, streamingUploads: 0 };
  readonly breaker: CircuitBreaker;
  /** The active health checks' verdict; true until they say otherwise (and always, without checks). */
  healthy = true;
  /** Checks passed (positive) or failed (negative) in a row. */
  streak = 0;
  /** The last check's outcome, for the admin API. */
  lastCheck: { readonly atMs: number; readonly ok: boolean; readonly detail: string } | undefined = undefined;
  /** Left the backend (DNS no longer names it, or a reload): takes no new requests, drains, closes. */
  leaving = false;
  #shadowPool: Pool | undefined = undefined;
  #checkPool: Pool | undefined = undefined;
  readonly #poolOptions: Pool.Options;

  constructor(
    readonly backend: string,
    where: DestinationAddress,
    config: BackendConfig,
    clock: Clock,
    observer: DestinationObserver,
  ) {
    const url = new URL(where.url);
    this.url = where.url;
    this.address = where.address;
    this.origin = originOf(url, where.address);
    this.host = url.host;
    this.#poolOptions = {
      connections: config.maxSockets,
      connectTimeout: config.connectTimeoutMs,
      headersTimeout: config.responseTimeoutMs,
      bodyTimeout: config.bodyTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      pipelining: 1,
      // A resolved address is connected to, but the certificate is still checked against the URL's name.
      ...(where.address !== undefined && url.protocol === "https:" ? { connect: { servername: url.hostname } } : {}),
    };
    this.pool = new Pool(this.origin, this.#poolOptions);
    this.breaker = new CircuitBreaker(config.circuitBreaker, clock, (state) => observer.circuitChanged(backend, this.origin, state));
  }

  /** The shadow copies' pool to this destination (same settings, its own connections). */
  get shadowPool(): Pool {
    this.#shadowPool ??= new Pool(this.origin, this.#poolOptions);
    return this.#shadowPool;
  }

  /**
   * The health checks' pool: one connection of its own, so a check waits for no request's connection
   * (a busy destination is not an unhealthy one) and holds none of theirs.
   */
  get checkPool(): Pool {
    this.#checkPool ??= new Pool(this.origin, { ...this.#poolOptions, connections: 1 });
    return this.#checkPool;
  }

  /** Whether it may be given a new request now: in the backend, and its breaker would let one through. */
  get available(): boolean {
    return !this.leaving && this.breaker.available();
  }

  /** Closes its pools: once their requests finish, or at once when `force` is set. */
  async close(force: boolean): Promise<void> {
    const pools = [this.pool, this.#shadowPool, this.#checkPool].filter((p): p is Pool => p !== undefined);
    await Promise.all(pools.map((p) => (force ? p.destroy() : p.close()).catch(() => undefined)));
  }
}
