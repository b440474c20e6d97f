import type { Metric, MetricValueWithName, Registry } from "prom-client";
import { LATENCY_BUCKETS_SECONDS } from "../guard/statistics.ts";
import type { StatusClass } from "./proxy-metrics.ts";

const STATUS_CLASSES: readonly StatusClass[] = ["1xx", "2xx", "3xx", "4xx", "5xx", "aborted"];
const STATUS_SLOT: Readonly<Record<StatusClass, number>> = { "1xx": 0, "2xx": 1, "3xx": 2, "4xx": 3, "5xx": 4, aborted: 5 };

/** One (route, backend)'s answered requests: counts by status class and a latency histogram. */
interface Series extends HistogramCounts {
  readonly byStatus: number[];
}

/**
 * The smallest bucket whose bound is ≥ `seconds` (Prometheus' `le`); the last one past every bound.
 * statistics.ts's `latencyBucket` bins milliseconds on the same bounds; this one compares the seconds
 * themselves, as prom-client does, so that a value on a bound lands where prom-client would put it
 * (seconds × 1000 is not always exact).
 */
export function bucketOf(seconds: number): number {
  let i = 0;
  while (i < LATENCY_BUCKETS_SECONDS.length && seconds > (LATENCY_BUCKETS_SECONDS[i] as number)) i++;
  return i;
}

/**
 * `strangler_requests_total` and `strangler_request_duration_seconds`, counted in plain arrays per
 * (route, backend) and turned into Prometheus series only when scraped.
 *
 * Why not prom-client's Counter and Histogram: their `inc` and `observe` resolve, validate and hash the
 * label set on every call, even through a bound child; that was about 2% of the proxy's CPU per request
 * in `npm run bench`. Here a request costs two map lookups and three increments. The scrape output is
 * prom-client's own (same names, labels, order and cumulative buckets), and the JSON a worker lends to
 * the primary under `--workers` has prom-client's shape, so the cluster's sum works as before.
 */
export class RequestSeries {
  readonly #byRoute = new Map<string, Map<string, Series>>();
  /** Every series in the order it was first seen, and every (series, status class) likewise: a scrape lists them so, as prom-client does. */
  #seen: Series[] = [];
  #seenStatus: [Series, number][] = [];

  /** Records one finished exchange. */
  observe(route: string, backend: string, status: StatusClass, seconds: number): void {
    let byBackend = this.#byRoute.get(route);
    if (!byBackend) this.#byRoute.set(route, (byBackend = new Map()));
    let series = byBackend.get(backend);
    if (!series) {
      series = { route, backend, byStatus: new Array<number>(STATUS_CLASSES.length).fill(0), buckets: new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0), sum: 0, count: 0 };
      byBackend.set(backend, series);
      this.#seen.push(series);
    }
    const slot = STATUS_SLOT[status];
    if (series.byStatus[slot] === 0) this.#seenStatus.push([series, slot]);
    (series.byStatus[slot] as number)++;
    (series.buckets[bucketOf(seconds)] as number)++;
    series.sum += seconds;
    series.count++;
  }

  /** Registers both metrics in `registry`. */
  register(registry: Registry): void {
    registry.registerMetric(this.#metric("strangler_requests_total", "Requests answered, by route, backend and status class", "counter", ["route", "backend", "status_class"], () => this.#requestValues()));
    registry.registerMetric(this.#metric("strangler_request_duration_seconds", "Time from request to the end of the response, by route and backend", "histogram", ["route", "backend"], () => this.#durationValues()));
  }

  #requestValues(): MetricValueWithName<string>[] {
    const values: MetricValueWithName<string>[] = [];
    // A status class a pair never answered has no series, as with prom-client's children.
    for (const [s, slot] of this.#seenStatus) values.push({ value: s.byStatus[slot] as number, labels: { route: s.route, backend: s.backend, status_class: STATUS_CLASSES[slot] as StatusClass } });
    return values;
  }

  #durationValues(): MetricValueWithName<string>[] {
    return histogramValues("strangler_request_duration_seconds", this.#seen);
  }

  #reset(): void {
    this.#byRoute.clear();
    this.#seen = [];
    this.#seenStatus = [];
  }

  #metric(name: string, help: string, type: "counter" | "histogram", labelNames: readonly string[], values: () => MetricValueWithName<string>[]): Metric {
    return registryMetric(name, help, type, labelNames, values, () => this.#reset());
  }
}

/** A (route, backend)'s latency histogram: per bucket of LATENCY_BUCKETS_SECONDS, then past the last bound. */
export interface HistogramCounts {
  readonly route: string;
  readonly backend: string;
  readonly buckets: number[];
  sum: number;
  count: number;
}

/** Histogram series as prom-client's Histogram lists them: cumulative buckets, +Inf, sum and count, series in the order first seen. */
export function histogramValues(name: string, seen: readonly HistogramCounts[]): MetricValueWithName<string>[] {
  const values: MetricValueWithName<string>[] = [];
  for (const s of seen) {
    let cumulative = 0;
    LATENCY_BUCKETS_SECONDS.forEach((le, i) => {
      cumulative += s.buckets[i] as number;
      values.push({ value: cumulative, labels: { le, route: s.route, backend: s.backend }, metricName: `${name}_bucket` });
    });
    values.push({ value: s.count, labels: { le: "+Inf", route: s.route, backend: s.backend }, metricName: `${name}_bucket` });
    values.push({ value: s.sum, labels: { route: s.route, backend: s.backend }, metricName: `${name}_sum` });
    values.push({ value: s.count, labels: { route: s.route, backend: s.backend }, metricName: `${name}_count` });
  }
  return values;
}

/**
 * A metric as the registry reads it: `get()` for the text format and for a worker's JSON, `reset()`
 * for `registry.resetMetrics()`. `name` stays writable: the registry renames counters for OpenMetrics.
 */
export function registryMetric(name: string, help: string, type: "counter" | "histogram", labelNames: readonly string[], values: () => MetricValueWithName<string>[], reset: () => void): Metric {
  const metric = {
    name,
    help,
    type,
    // As prom-client's own metrics carry them: the registry does not read them; the metrics reference does.
    labelNames,
    aggregator: "sum" as const,
    // The shape of prom-client's own get() (its typings call `type` a numeric enum; the values are these strings).
    get: async () => ({ name: metric.name, help, type, aggregator: "sum" as const, values: values() }),
    reset,
  };
  // prom-client types a registered metric as one of its own classes; the registry itself only reads
  // name, help, type, aggregator, get() and reset() (registry.js), which this object has.
  return metric as unknown as Metric;
}
