import type { Registry } from "prom-client";
import { LATENCY_BUCKETS_SECONDS } from "../guard/statistics.ts";
import { bucketOf, histogramValues, registryMetric, type HistogramCounts } from "./request-series.ts";

/**
 * A latency histogram by route and backend, counted in plain arrays and scraped as prom-client's
 * Histogram with labels `route` and `backend` would be (same text, same JSON for the cluster's sum).
 *
 * Why not prom-client's Histogram: its `observe` hashes the label set on every call, even through a
 * bound child, and a shadowed request observes twice (see request-series.ts for the same reason).
 */
export class LatencySeries {
  readonly #byRoute = new Map<string, Map<string, HistogramCounts>>();
  #seen: HistogramCounts[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  observe(route: string, backend: string, seconds: number): void {
    let byBackend = this.#byRoute.get(route);
    if (!byBackend) this.#byRoute.set(route, (byBackend = new Map()));
    let series = byBackend.get(backend);
    if (!series) {
      series = { route, backend, buckets: new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0), sum: 0, count: 0 };
      byBackend.set(backend, series);
      this.#seen.push(series);
    }
    (series.buckets[bucketOf(seconds)] as number)++;
    series.sum += seconds;
    series.count++;
  }

  register(registry: Registry): void {
    registry.registerMetric(
      registryMetric(this.name, this.help, "histogram", ["route", "backend"], () => histogramValues(this.name, this.#seen), () => {
        this.#byRoute.clear();
        this.#seen = [];
      }),
    );
  }
}
