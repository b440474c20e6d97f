import type { BackendConfig } from "../config/schema.ts";
import { basePathOf } from "../config/schema.ts";
import { DestinationSet, type DestinationDeps } from "./destination-set.ts";

/** A backend ready to forward to: its destinations (instances, each with its pools) and where its paths start. */
export interface Backend {
  readonly name: string;
  readonly config: BackendConfig;
  /** Shared by every Backend object of the same destinations, so a reload keeps their pools, counts and health. */
  readonly destinations: DestinationSet;
  /** Base path from the URLs without its trailing slash ("" for none), prefixed to every forwarded path. */
  readonly basePath: string;
}

/** The settings whose change needs new destinations (new pools); others (bounds, retries) apply in place. */
function fingerprint(config: BackendConfig): string {
  return JSON.stringify([config.urls, config.connectTimeoutMs, config.responseTimeoutMs, config.bodyTimeoutMs, config.maxSockets, config.keepAliveTimeoutMs, config.healthCheck, config.dnsRefreshMs, config.circuitBreaker]);
}

/**
 * Owns the destinations of every backend. A reload reuses those of a backend whose settings did not
 * change (their pools, breakers and health), opens new ones for new or changed backends, and closes those
 * no longer used once their in-flight requests finish.
 */
export class BackendPools {
  #open = new Map<string, Backend>();

  constructor(private readonly deps: DestinationDeps) {}

  /** Returns backends for `configs`, reusing unchanged destinations; retired ones drain and close in the background. */
  update(configs: Readonly<Record<string, BackendConfig>>): Map<string, Backend> {
    const next = new Map<string, Backend>();
    for (const [name, config] of Object.entries(configs)) {
      const existing = this.#open.get(name);
      if (existing && fingerprint(existing.config) === fingerprint(config)) {
        // The same destinations under the settings that need no new pool: admission bounds, retries.
        next.set(name, { ...existing, config });
        continue;
      }
      const destinations = new DestinationSet(name, config, this.deps);
      destinations.start();
      next.set(name, { name, config, destinations, basePath: basePathOf(config.url) });
    }
    for (const [name, backend] of this.#open) {
      if (next.get(name)?.destinations !== backend.destinations) void backend.destinations.close(false);
    }
    this.#open = next;
    return next;
  }

  /** Closes every pool: waits for in-flight requests, or cuts them when `force` is set. */
  async close(force = false): Promise<void> {
    const sets = [...this.#open.values()].map((b) => b.destinations);
    this.#open = new Map();
    await Promise.all(sets.map((s) => s.close(force)));
  }
}
