import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guardSchema } from "../../src/config/schema.ts";
import { evaluateGuard } from "../../src/guard/guard-policy.ts";
import { latencyBucket } from "../../src/guard/statistics.ts";
import type { EvidenceCount } from "../../src/store/evidence-store.ts";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { storeKinds, withStore } from "../helpers/stores.ts";

/** Fleet evidence on SQLite (the processes of a host) and PostgreSQL (the nodes of a fleet). */
let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
/** What a node saw on route r in one bucket: target requests (some failing, at some latency), and comparisons. */
function traffic(bucket: number, requests: number, errors: number, ms: number, compared = 0, diverged = 0): EvidenceCount[] {
  return [
    { routeId: "r", bucket, metric: "target.requests", count: requests },
    { routeId: "r", bucket, metric: "target.errors", count: errors },
    { routeId: "r", bucket, metric: `target.le.${latencyBucket(ms)}`, count: requests },
    { routeId: "r", bucket, metric: "legacy.requests", count: requests },
    { routeId: "r", bucket, metric: `legacy.le.${latencyBucket(5)}`, count: requests },
    { routeId: "r", bucket, metric: "compared", count: compared },
    { routeId: "r", bucket, metric: "diverged", count: diverged },
  ];
}

describe.each(storeKinds(() => postgres))("the evidence store on %s", (_kind, open) => {
  it(
    "sums every node's counts over the window, and only the window",
    withStore(open, async (s) => {
      const { evidence } = await s.node();
      await evidence.add("a", [...traffic(T0, 10, 1, 40, 5, 1), { routeId: "r", bucket: T0, metric: "fallbacks", count: 2 }, { routeId: "r", bucket: T0, metric: "shadow_errors", count: 1 }]);
      await evidence.add("b", traffic(T0 + 5_000, 10, 0, 40, 5, 0));
      await evidence.add("a", traffic(T0 + 5_000, 5, 0, 40)); // a second flush of node a adds to the first
      await evidence.add("c", traffic(T0 - 60_000, 1_000, 1_000, 9_000)); // before the window
      await s.settle();
      const summary = await evidence.summary("r", T0, T0 + 10_000);
      expect(summary).toMatchObject({
        fromMs: T0,
        toMs: T0 + 10_000,
        target: { requests: 25, errors: 1, p99Ms: 50 },
        legacy: { requests: 25, errors: 0, p99Ms: 5 },
        shadow: { compared: 10, diverged: 1, errors: 1 },
        fallbacks: 2,
      });
      expect((await evidence.summary("other", T0, T0 + 10_000)).target.requests).toBe(0);
      await evidence.prune(T0);
      expect((await evidence.summary("r", 0, T0 + 10_000)).target.requests).toBe(25);
    }),
  );

  it(
    "keeps each side's traffic per minute, every node's summed, past the buckets' pruning, until its own",
    withStore(open, async (s) => {
      const [one, two] = [(await s.node()).evidence, (await s.node()).evidence];
      const minute = Math.floor(T0 / 60_000);
      // Two buckets of one minute from two nodes, and one bucket of the next minute.
      await one.add("a", traffic(T0, 10, 1, 40, 5, 1));
      await two.add("b", traffic(T0 + 55_000, 30, 0, 4));
      await one.add("a", traffic(T0 + 60_000, 4, 4, 900));
      await one.add("a", [{ routeId: "other", bucket: T0, metric: "target.requests", count: 7 }]);
      await s.settle();
      await one.prune(T0 + 3_600_000); // the guards' buckets go; the history stays
      expect((await one.summary("r", 0, T0 + 3_600_000)).target.requests).toBe(0);
      const history = await two.history("r", minute - 10, minute + 10);
      expect(history).toEqual([
        { minute, target: { requests: 40, errors: 1, p50Ms: 5, p99Ms: 50 }, legacy: { requests: 40, errors: 0, p50Ms: 5, p99Ms: 5 } },
        { minute: minute + 1, target: { requests: 4, errors: 4, p50Ms: 1000, p99Ms: 1000 }, legacy: { requests: 4, errors: 0, p50Ms: 5, p99Ms: 5 } },
      ]);
      expect(await one.history("r", minute + 1, minute + 2)).toHaveLength(1);
      expect((await one.history("other", minute, minute + 1))[0]?.target.requests).toBe(7);
      await one.pruneHistory(minute + 1);
      expect((await two.history("r", 0, minute + 10)).map((m) => m.minute)).toEqual([minute + 1]);
    }),
  );

  it(
    "a guard trips on the fleet's evidence when no node alone has enough to judge",
    withStore(open, async (s) => {
      const guard = guardSchema.parse({ minSamples: 20, maxErrorRate: 0.1 });
      const nodes = await Promise.all(["n1", "n2", "n3"].map(async (id) => ({ id, store: (await s.node()).evidence })));
      // Each node saw 8 target requests, half failing: below minSamples alone.
      await Promise.all(nodes.map(({ id, store }, i) => store.add(id, traffic(T0 + i * 1_000, 8, 4, 30))));
      await s.settle();
      const fleet = await nodes[0]?.store.summary("r", T0, T0 + 10_000);
      expect(evaluateGuard(guard, fleet as NonNullable<typeof fleet>)).toMatchObject({ verdict: "trip", reasons: ["error rate 50% > 10% over 24 requests (12 errors)"] });
      // What one node alone would have judged:
      const alone = await nodes[0]?.store.summary("r", T0, T0 + 1_000);
      expect(evaluateGuard(guard, alone as NonNullable<typeof alone>)).toMatchObject({ verdict: "insufficient_data" });
    }),
  );

  it(
    "adds concurrent flushes of many nodes, repeated keys in one flush included, without losing a count",
    withStore(open, async (s) => {
      const nodes = await Promise.all(Array.from({ length: 5 }, () => s.node()));
      await Promise.all(
        nodes.map((n, i) =>
          Promise.all(Array.from({ length: 4 }, () => n.evidence.add(`node-${i}`, [...traffic(T0, 3, 1, 10), ...traffic(T0, 2, 0, 10)]))),
        ),
      );
      await s.settle();
      const summary = await nodes[0]?.evidence.summary("r", T0, T0 + 1_000);
      expect(summary?.target).toMatchObject({ requests: 100, errors: 20 });
    }),
  );
});
