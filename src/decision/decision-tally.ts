import type { Clock } from "../guard/clock.ts";
import type { RoutingDecider } from "./decider.ts";

/** The share of a route's decisions that went to the target, over the tally's window. */
export interface ObservedShare {
  /** Percent of decisions that chose the target (0.01 resolution), or null before any decision. */
  readonly targetPercent: number | null;
  readonly decisions: number;
  readonly windowSeconds: number;
}

const BUCKET_MS = 10_000;

/**
 * What an external OpenFeature provider actually decides, per route, over the last `windowMs`: the
 * admin API, CLI, metrics and dashboard show this instead of a percentage the proxy does not own.
 * Counts in 10 s buckets; forced requests (a person steering) are not counted.
 */
export class DecisionTally {
  readonly #routes = new Map<string, Map<number, { target: number; legacy: number }>>();

  constructor(
    private readonly clock: Clock,
    private readonly windowMs = 300_000,
  ) {}

  record(routeId: string, role: "legacy" | "target"): void {
    const bucket = Math.floor(this.clock.now() / BUCKET_MS);
    let buckets = this.#routes.get(routeId);
    if (!buckets) this.#routes.set(routeId, (buckets = new Map()));
    let counts = buckets.get(bucket);
    if (!counts) {
      buckets.set(bucket, (counts = { target: 0, legacy: 0 }));
      // A new bucket is the moment to let old ones go: memory stays at window / 10 s buckets per route.
      const oldest = bucket - Math.ceil(this.windowMs / BUCKET_MS);
      for (const key of buckets.keys()) if (key <= oldest) buckets.delete(key);
    }
    counts[role]++;
  }

  share(routeId: string): ObservedShare {
    const oldest = Math.floor(this.clock.now() / BUCKET_MS) - Math.ceil(this.windowMs / BUCKET_MS);
    let target = 0;
    let legacy = 0;
    for (const [bucket, counts] of this.#routes.get(routeId) ?? []) {
      if (bucket <= oldest) continue;
      target += counts.target;
      legacy += counts.legacy;
    }
    const decisions = target + legacy;
    return { targetPercent: decisions === 0 ? null : Math.round((target / decisions) * 10_000) / 100, decisions, windowSeconds: this.windowMs / 1_000 };
  }

  forget(routeId: string): void {
    this.#routes.delete(routeId);
  }
}

/** A decider that tallies what `inner` decides (forced decisions aside). */
export function tallying(inner: RoutingDecider, tally: DecisionTally): RoutingDecider {
  return {
    decide(route, req) {
      const result = inner.decide(route, req);
      const count = (d: Awaited<typeof result>) => {
        if (d.reason !== "FORCED") tally.record(route.id, d.role);
        return d;
      };
      return result instanceof Promise ? result.then(count) : count(result);
    },
  };
}
