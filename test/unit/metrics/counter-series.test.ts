import { AggregatorRegistry, Counter, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { CounterSeries } from "../../../src/metrics/counter-series.ts";

const NAME = "strangler_shadow_comparisons_total";
const HELP = "Shadowed requests by outcome";

/** The counter as prom-client's own class keeps it: what CounterSeries must equal. */
function reference(registry: Registry) {
  const counter = new Counter({ name: NAME, help: HELP, labelNames: ["route", "outcome"], registers: [registry] });
  return (route: string, outcome: string, by?: number) => counter.labels(route, outcome).inc(by);
}

const increments: [string, string, number | undefined][] = [
  ["orders", "match", 0], // made at 0, as initRoute does
  ["orders", "match", undefined],
  ["catalog", "diverge", undefined],
  ["orders", "error", 3],
  ["orders", "match", undefined],
  ["catalog", "skipped", 0],
];

describe("CounterSeries", () => {
  it("scrapes exactly as prom-client's Counter would, as text and as a worker's JSON", async () => {
    const ours = new Registry();
    const series = new CounterSeries(NAME, HELP, ["route", "outcome"]);
    series.register(ours);
    const theirs = new Registry();
    const inc = reference(theirs);
    for (const [route, outcome, by] of increments) {
      series.inc(route, outcome, by);
      inc(route, outcome, by);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain(`${NAME}{route="orders",outcome="match"} 2`);
    expect(text).toContain(`${NAME}{route="catalog",outcome="skipped"} 0`);
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  });

  it("adds up across workers as prom-client's counters do, and has no series after a reset", async () => {
    const workers = [new Registry(), new Registry()];
    const references = [new Registry(), new Registry()];
    workers.forEach((registry, i) => {
      const series = new CounterSeries(NAME, HELP, ["route", "outcome"]);
      series.register(registry);
      const inc = reference(references[i] as Registry);
      for (const [route, outcome, by] of increments.slice(i * 2)) {
        series.inc(route, outcome, by);
        inc(route, outcome, by);
      }
    });
    const sum = async (registries: Registry[]) => AggregatorRegistry.aggregate(await Promise.all(registries.map((r) => r.getMetricsAsJSON()))).metrics();
    expect(await sum(workers)).toBe(await sum(references));
    const registry = workers[0] as Registry;
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain(`${NAME}{`);
  });
});
