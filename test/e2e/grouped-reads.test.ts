import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { openStores } from "../../src/store/open-stores.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/wait.ts";

/**
 * Issue 32: what the cockpit, `strangler routes` and the map ask of a fleet's PostgreSQL per refresh does
 * not grow with the number of routes. Counted by the proxy's own `strangler_store_checkouts_total` (one
 * per transaction or lone statement), with every background timer slowed past the test, for a proxy with
 * 5 routes and one with 60, each with traffic, divergences and history on every route.
 */
describe("grouped reads on PostgreSQL", () => {
  const temp = makeTempDir();
  let postgres: TestPostgres;
  let legacy: Fixture;
  let svc: Fixture;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    legacy = await startFixture((_req, res) => res.setHeader("content-type", "application/json").end('{"price":10}'));
    svc = await startFixture((_req, res) => res.setHeader("content-type", "application/json").end('{"price":"10"}'));
  });
  afterAll(async () => {
    await legacy?.close();
    await svc?.close();
    await postgres?.stop();
    temp.remove();
  });

  /** A proxy with `n` shadowed, guarded routes on a fresh database, traffic on each, folded. */
  async function proxyWith(n: number): Promise<Strangler> {
    const url = await postgres.createDatabase(`grouped_${n}_${process.pid}_${Date.now()}`);
    const config = writeConfig(
      temp.dir,
      {
        backends: { legacy: { url: legacy.url }, svc: { url: svc.url } },
        // Every timer that reads or writes the store on its own, slowed past the test's end.
        guards: { intervalMs: 600_000 },
        fleet: { heartbeatMs: 600_000, reconcileMs: 600_000, foldMs: 60_000, evidenceFlushMs: 100 },
        map: { flushMs: 300_000 },
        recording: { refreshMs: 60_000 },
        routes: Array.from({ length: n }, (_, i) => ({
          id: `route-${i}`,
          match: { path: `/r${i}` },
          target: "svc",
          rollout: { percent: 10 },
          shadow: { percent: 100 },
          guard: { minSamples: 1_000, maxErrorRate: 0.5 },
        })),
      },
      `grouped-${n}.config.ts`,
    );
    const proxy = await startTestProxy(config, { databaseUrl: url });
    for (let i = 0; i < n; i++) await fetch(`${proxy.url}/r${i}`, { headers: { "x-user-id": "u" } });
    // Shadow comparisons end after the answers: wait until every route's is counted.
    await until(
      async () => [...(await (await fetch(`${proxy.adminUrl}/metrics`)).text()).matchAll(/^strangler_shadow_comparisons_total\{[^}]*outcome="diverge"[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0),
      (diverged) => diverged >= n,
      15_000,
    );
    // The node's evidence and results written, and folded as the judge would.
    await proxy.evidence.flush();
    await proxy.shadows.flush();
    const stores = await openStores({ dataDir: "unused", databaseUrl: url });
    await stores.fold();
    await stores.close();
    return proxy;
  }

  const checkouts = async (proxy: Strangler) => {
    const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    return Number(/strangler_store_checkouts_total\{database="main"\} (\d+)/.exec(text)?.[1]);
  };
  /**
   * Round trips one GET costs, warm (its first call may write what it flushes): the fewest of three
   * calls, since a timer of the judge (about one read a second) may land inside one of them.
   */
  async function cost(proxy: Strangler, path: string): Promise<number> {
    expect((await fetch(`${proxy.adminUrl}${path}`)).status).toBe(200);
    const costs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = await checkouts(proxy);
      expect((await fetch(`${proxy.adminUrl}${path}`)).status).toBe(200);
      costs.push((await checkouts(proxy)) - before);
    }
    return Math.min(...costs);
  }

  it("costs the same few round trips with 5 routes as with 60: the overview, the routes, the fleet, the map", async () => {
    const small = await proxyWith(5);
    const large = await proxyWith(60);
    try {
      const overview = (await (await fetch(`${large.adminUrl}/api/overview`)).json()) as { routes: Array<{ traffic: { legacy: { requests: number }; target: { requests: number } }; shadow: { compared: number; topDivergences: unknown[] } }> };
      // The reads are real: every route's traffic and divergence are there.
      expect(overview.routes).toHaveLength(60);
      expect(overview.routes.map((r) => [r.traffic.legacy.requests + r.traffic.target.requests, r.shadow.compared, r.shadow.topDivergences.length])).toEqual(overview.routes.map(() => [1, 1, 1]));
      for (const path of ["/api/overview", "/api/routes", "/api/fleet", "/api/map", "/api/webhooks"]) {
        const [few, many] = [await cost(small, path), await cost(large, path)];
        expect(many, `${path}: ${few} round trips with 5 routes, ${many} with 60`).toBe(few);
        expect(many, path).toBeLessThanOrEqual(8);
      }
    } finally {
      await small.close();
      await large.close();
    }
  });
});
