import { AggregatorRegistry, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { LATENCY_BUCKETS_SECONDS } from "../../../src/guard/statistics.ts";
import { LatencySeries } from "../../../src/metrics/latency-series.ts";

const NAME = "strangler_shadow_backend_latency_seconds";
const HELP = "Latency of each backend for the same shadowed requests";

/** The histogram as prom-client's own class keeps it: what LatencySeries must equal. */
function reference(registry: Registry) {
  const histogram = new Histogram({ name: NAME, help: HELP, labelNames: ["route", "backend"], buckets: [...LATENCY_BUCKETS_SECONDS], registers: [registry] });
  return (route: string, backend: string, seconds: number) => histogram.labels(route, backend).observe(seconds);
}

const observations: [string, string, number][] = [
  ["orders", "legacy", 0.0004],
  ["orders", "orders-svc", 0.0005], // on a bound: counted in it (le)
  ["orders", "legacy", 0.012],
  ["catalog", "catalog-svc", 45], // past every bound
  ["orders", "orders-svc", 1.5],
];

describe("LatencySeries", () => {
  it("scrapes exactly as prom-client's Histogram would, as text and as a worker's JSON", async () => {
    const ours = new Registry();
    const series = new LatencySeries(NAME, HELP);
    series.register(ours);
    const theirs = new Registry();
    const observe = reference(theirs);
    for (const [route, backend, seconds] of observations) {
      series.observe(route, backend, seconds);
      observe(route, backend, seconds);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    const withoutExemplars = (json: unknown) => JSON.parse(JSON.stringify(json, (key, value: unknown) => (key === "exemplar" ? undefined : value)));
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));
  });

  it("adds up across workers as prom-client's histograms do, and has no series after a reset", async () => {
    const workers = [new Registry(), new Registry()];
    const references = [new Registry(), new Registry()];
    workers.forEach((registry, i) => {
      const series = new LatencySeries(NAME, HELP);
      series.register(registry);
      const observe = reference(references[i] as Registry);
      for (const [route, backend, seconds] of observations.slice(i * 2)) {
        series.observe(route, backend, seconds);
        observe(route, backend, seconds);
      }
    });
    const sum = async (registries: Registry[]) => AggregatorRegistry.aggregate(await Promise.all(registries.map((r) => r.getMetricsAsJSON()))).metrics();
    expect(await sum(workers)).toBe(await sum(references));
    const registry = workers[0] as Registry;
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain(`${NAME}_bucket{`);
  });
});
