import { Pool } from "undici";
import type { BackendConfig } from "../config/schema.ts";

/** Requests a backend's pool is carrying now, counted by the data plane (see admission.ts). */
export interface BackendLoad {
  /** Requests sent and not yet finished: those beyond `maxSockets` wait for a connection. */
  inFlight: number;
  /** Of those, requests whose body is still streaming from the client. */
  streamingUploads: number;
}

/** A backend ready to forward to: a keep-alive connection pool and where its paths start. */
export interface Backend {
  readonly name: string;
  readonly config: BackendConfig;
  readonly pool: Pool;
  /** Shared by every Backend object on the same pool, so a reload keeps the counts. */
  readonly load: BackendLoad;
  /** `host:port` sent as the Host header. */
  readonly host: string;
  /** Base path from the URL without its trailing slash ("" for none), prefixed to every forwarded path. */
  readonly basePath: string;
}

function fingerprint(config: BackendConfig): string {
  return JSON.stringify([config.url, config.connectTimeoutMs, config.responseTimeoutMs, config.bodyTimeoutMs, config.maxSockets, config.keepAliveTimeoutMs]);
}

function openBackend(name: string, config: BackendConfig): Backend {
  const url = new URL(config.url);
  const pool = new Pool(url.origin, {
    connections: config.maxSockets,
    connectTimeout: config.connectTimeoutMs,
    headersTimeout: config.responseTimeoutMs,
    bodyTimeout: config.bodyTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    pipelining: 1,
  });
  return { name, config, pool, load: { inFlight: 0, streamingUploads: 0 }, host: url.host, basePath: url.pathname.replace(/\/+$/, "") };
}

/**
 * Owns the connection pools of every backend. A reload reuses the pool of a backend whose settings did
 * not change, opens pools for new or changed ones, and closes the pools no longer used once their
 * in-flight requests finish.
 */
export class BackendPools {
  #open = new Map<string, Backend>();

  /** Returns backends for `configs`, reusing unchanged pools; retired pools drain and close in the background. */
  update(configs: Readonly<Record<string, BackendConfig>>): Map<string, Backend> {
    const next = new Map<string, Backend>();
    for (const [name, config] of Object.entries(configs)) {
      const existing = this.#open.get(name);
      // The same pool (and its counts) under the new settings that need no new pool: bounds, circuit breaker.
      next.set(name, existing && fingerprint(existing.config) === fingerprint(config) ? { ...existing, config } : openBackend(name, config));
    }
    for (const [name, backend] of this.#open) {
      if (next.get(name)?.pool !== backend.pool) void backend.pool.close().catch(() => undefined);
    }
    this.#open = next;
    return next;
  }

  /** Closes every pool: waits for in-flight requests, or cuts them when `force` is set. */
  async close(force = false): Promise<void> {
    const pools = [...this.#open.values()].map((b) => b.pool);
    this.#open = new Map();
    await Promise.all(pools.map((p) => (force ? p.destroy() : p.close()).catch(() => undefined)));
  }
}
