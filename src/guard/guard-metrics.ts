import { Counter, Gauge, type Registry } from "prom-client";
import type { MigrationState } from "../store/migration-repository.ts";

const STATES: readonly MigrationState[] = ["legacy", "shadowing", "canary", "migrated", "retired", "halted", "paused"];

/** Guard and promotion metrics: trips, steps, and each route's state (1 for the current one). */
export interface GuardMetrics {
  trip(route: string): void;
  step(route: string): void;
  state(route: string, state: MigrationState): void;
  /** Creates a route's trip and step series at 0 (those its config can move), before their first event. */
  initRoute(route: string, has: { guard: boolean; promote: boolean }): void;
}

export function createGuardMetrics(registry: Registry): GuardMetrics {
  const trips = new Counter({ name: "strangler_guard_trips_total", help: "Automatic rollbacks by a guard", labelNames: ["route"] as const, registers: [registry] });
  const steps = new Counter({ name: "strangler_promotion_steps_total", help: "Promotion steps taken by evidence", labelNames: ["route"] as const, registers: [registry] });
  const state = new Gauge({ name: "strangler_route_state", help: "A route's migration state (1 on the current state)", labelNames: ["route", "state"] as const, registers: [registry], aggregator: "max" });
  return {
    trip: (route) => trips.labels(route).inc(),
    step: (route) => steps.labels(route).inc(),
    initRoute(route, has) {
      if (has.guard) trips.labels(route).inc(0);
      if (has.promote) steps.labels(route).inc(0);
    },
    state(route, current) {
      for (const s of STATES) state.labels(route, s).set(s === current ? 1 : 0);
    },
  };
}
