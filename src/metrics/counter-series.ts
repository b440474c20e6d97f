import type { MetricValueWithName, Registry } from "prom-client";
import { registryMetric } from "./request-series.ts";

/** One labelled series of a CounterSeries. */
interface Count {
  readonly a: string;
  readonly b: string;
  value: number;
}

/**
 * A counter with two labels, counted in nested maps and scraped as prom-client's Counter with the same
 * labels would be (same text, same JSON for the cluster's sum).
 *
 * Why not prom-client's Counter: its `inc` validates and hashes the label set on every call, even through
 * a bound child, and every shadowed request counts its outcome (see request-series.ts for the same reason).
 * Label values must come from config (routes, outcomes), never from traffic: no series is ever removed.
 */
export class CounterSeries {
  readonly #byA = new Map<string, Map<string, Count>>();
  /** Every series in the order it was first seen: a scrape lists them so, as prom-client does. */
  #seen: Count[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly [string, string],
  ) {}

  /** Adds `by` (default 1; 0 makes the series exist at 0, as prom-client's `inc(0)` does). */
  inc(a: string, b: string, by = 1): void {
    let byB = this.#byA.get(a);
    if (!byB) this.#byA.set(a, (byB = new Map()));
    let count = byB.get(b);
    if (!count) {
      count = { a, b, value: 0 };
      byB.set(b, count);
      this.#seen.push(count);
    }
    count.value += by;
  }

  register(registry: Registry): void {
    registry.registerMetric(
      registryMetric(this.name, this.help, "counter", this.labelNames, () => this.#values(), () => {
        this.#byA.clear();
        this.#seen = [];
      }),
    );
  }

  #values(): MetricValueWithName<string>[] {
    const [first, second] = this.labelNames;
    return this.#seen.map((c) => ({ value: c.value, labels: { [first]: c.a, [second]: c.b } }));
  }
}
