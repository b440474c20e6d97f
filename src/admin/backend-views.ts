import type { Backend } from "../proxy/backend-pool.ts";
import type { Destination } from "../proxy/destination.ts";

/** Whether a destination gets new requests, and if not, why. */
export type DestinationState = "in_service" | "unhealthy" | "ejected" | "probing" | "leaving";

function stateOf(d: Destination): DestinationState {
  if (d.leaving) return "leaving";
  if (d.breaker.state === "half_open") return "probing";
  if (d.breaker.state === "open") return "ejected";
  return d.healthy ? "in_service" : "unhealthy";
}

/** One destination as the admin API shows it (numbers of this process; each worker of `--workers` has its own). */
function destinationView(d: Destination) {
  const reopensAt = d.breaker.reopensAt;
  return {
    destination: d.origin,
    url: d.url,
    address: d.address ?? null,
    state: stateOf(d),
    healthy: d.healthy,
    inFlight: d.load.inFlight,
    circuit: d.breaker.state,
    /** When an ejected destination gets its next probe: ms since the epoch (the proxy's clock), or null. */
    ejectedUntil: reopensAt === undefined ? null : reopensAt,
    lastCheck: d.lastCheck ?? null,
  };
}

/**
 * A backend as the admin API shows it: its destinations and their state, whether it fails open (every
 * destination unhealthy, so all take traffic), its health check and its retries in flight.
 */
export function backendView(backend: Backend) {
  const set = backend.destinations;
  return {
    name: backend.name,
    urls: backend.config.urls,
    healthCheck: backend.config.healthCheck ?? null,
    dnsRefreshMs: backend.config.dnsRefreshMs,
    failingOpen: set.failingOpen,
    retries: { config: backend.config.retries, inFlight: set.retriesInFlight },
    destinations: set.destinations.map(destinationView),
  };
}

export type BackendView = ReturnType<typeof backendView>;
