import { AggregatorRegistry, Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { LATENCY_BUCKETS_SECONDS } from "../../../src/guard/statistics.ts";
import type { StatusClass } from "../../../src/metrics/proxy-metrics.ts";
import { RequestSeries } from "../../../src/metrics/request-series.ts";

/** The same two metrics as prom-client's own classes would keep them: what RequestSeries must equal. */
function promClientReference(registry: Registry) {
  const requests = new Counter({ name: "strangler_requests_total", help: "Requests answered, by route, backend and status class", labelNames: ["route", "backend", "status_class"], registers: [registry] });
  const duration = new Histogram({ name: "strangler_request_duration_seconds", help: "Time from request to the end of the response, by route and backend", labelNames: ["route", "backend"], buckets: [...LATENCY_BUCKETS_SECONDS], registers: [registry] });
  return (route: string, backend: string, status: StatusClass, seconds: number) => {
    requests.labels(route, backend, status).inc();
    duration.labels(route, backend).observe(seconds);
  };
}

const observations: [string, string, StatusClass, number][] = [
  ["orders", "legacy", "2xx", 0.0004],
  ["orders", "legacy", "2xx", 0.0005], // on a bound: counted in it (le)
  ["orders", "orders-svc", "5xx", 0.012],
  ["orders", "orders-svc", "aborted", 45], // past every bound
  ["_unrouted", "legacy", "4xx", 0.2],
  ["orders", "legacy", "3xx", 1.5],
];

describe("RequestSeries", () => {
  it("scrapes exactly as prom-client's Counter and Histogram would", async () => {
    const ours = new Registry();
    const series = new RequestSeries();
    series.register(ours);
    const reference = new Registry();
    const observe = promClientReference(reference);
    for (const [route, backend, status, seconds] of observations) {
      series.observe(route, backend, status, seconds);
      observe(route, backend, status, seconds);
    }
    expect(await ours.metrics()).toBe(await reference.metrics());
    // The JSON a worker lends to the primary: the same, less prom-client's exemplar slots (always empty here).
    const withoutExemplars = (json: unknown) => JSON.parse(JSON.stringify(json, (key, value: unknown) => (key === "exemplar" ? undefined : value)));
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await reference.getMetricsAsJSON()));
  });

  it("adds up across workers as prom-client's metrics do", async () => {
    const workers = [new Registry(), new Registry()];
    const references = [new Registry(), new Registry()];
    workers.forEach((registry, i) => {
      const series = new RequestSeries();
      series.register(registry);
      const observe = promClientReference(references[i] as Registry);
      for (const [route, backend, status, seconds] of observations.slice(i * 2)) {
        series.observe(route, backend, status, seconds);
        observe(route, backend, status, seconds);
      }
    });
    const sum = async (registries: Registry[]) => AggregatorRegistry.aggregate(await Promise.all(registries.map((r) => r.getMetricsAsJSON()))).metrics();
    expect(await sum(workers)).toBe(await sum(references));
  });

  it("has no series before a request, and none after a reset", async () => {
    const registry = new Registry();
    const series = new RequestSeries();
    series.register(registry);
    expect(await registry.metrics()).not.toContain("strangler_requests_total{");
    series.observe("orders", "legacy", "2xx", 0.01);
    expect(await registry.metrics()).toContain('strangler_requests_total{route="orders",backend="legacy",status_class="2xx"} 1');
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain("strangler_request_duration_seconds_bucket{");
  });
});
