import { Gauge, type Registry } from "prom-client";
import type { Backend } from "../proxy/backend-pool.ts";
import type { Destination } from "../proxy/destination.ts";

/**
 * Each backend's destinations, read from the live state at every scrape (no work per request): whether
 * the health checks find it healthy, whether its breaker ejected it, its requests in flight; and whether
 * the backend fails open. Bounded: destinations are the config's URLs and their addresses, and a
 * destination that left has no series at the next scrape.
 */
export function registerDestinationGauges(registry: Registry, backends: () => ReadonlyMap<string, Backend>): void {
  const labelNames = ["backend", "destination"] as const;
  const each = (set: (backend: string, destination: Destination) => void) => {
    for (const b of backends().values()) for (const d of b.destinations.destinations) set(b.name, d);
  };
  new Gauge({
    name: "strangler_destination_healthy",
    help: "1 while a backend's destination passes its health checks (always 1 without checks); under --workers, how many workers see it so",
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      each((backend, d) => this.labels(backend, d.origin).set(d.healthy ? 1 : 0));
    },
  });
  new Gauge({
    name: "strangler_destination_ejected",
    help: "1 while a destination's circuit breaker keeps requests from it (open, or half-open with its probe out)",
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      each((backend, d) => this.labels(backend, d.origin).set(d.breaker.state === "closed" ? 0 : 1));
    },
  });
  new Gauge({
    name: "strangler_destination_in_flight",
    help: "Requests sent to a destination and not yet finished",
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      each((backend, d) => this.labels(backend, d.origin).set(d.load.inFlight));
    },
  });
  new Gauge({
    name: "strangler_backend_fail_open",
    help: "1 while every destination of a backend is unhealthy, so all of them take traffic (fail open)",
    labelNames: ["backend"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const b of backends().values()) this.labels(b.name).set(b.destinations.failingOpen ? 1 : 0);
    },
  });
}
