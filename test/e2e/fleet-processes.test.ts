import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnProxy, type ChildProxy } from "../helpers/child-proxy.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

/** How often the judge evaluates: its lease lasts as long, so a dead judge is replaced within two of these. */
const INTERVAL_MS = 2_000;

interface FleetListing {
  store: string;
  judge: string | null;
  nodes: Array<{ nodeId: string; address: string; judge: boolean; self: boolean }>;
}

/**
 * Fleet mode as it is deployed: three proxy processes (`src/main.ts`, as users run it) on one PostgreSQL.
 * One of them judges; killed with SIGKILL, another takes over; a promotion running through the handover
 * takes each step once; and a guard trips on the evidence of all the nodes together, where no node alone
 * has enough of it.
 */
describe("three proxy processes on one PostgreSQL: one judge, fleet-wide evidence", () => {
  const temp = makeTempDir();
  let postgres: TestPostgres;
  let legacy: Fixture;
  let svc: Fixture;
  const nodes: ChildProxy[] = [];
  const live = () => nodes.filter((n) => n.process.exitCode === null && n.process.signalCode === null);

  const get = async <T,>(node: ChildProxy, path: string): Promise<T> => (await (await fetch(`${node.adminUrl}${path}`)).json()) as T;
  const post = async (node: ChildProxy, path: string, json: unknown) => {
    const res = await fetch(`${node.adminUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(json) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const judgeOf = async (node: ChildProxy) => (await get<FleetListing>(node, "/api/fleet")).judge;
  const pidOf = (nodeId: string) => Number(nodeId.split(":")[1]);

  beforeAll(async () => {
    postgres = await startTestPostgres();
    const product = JSON.stringify({ id: 7, name: "kettle", price: 25 });
    legacy = await startFixture((_req, res) => res.setHeader("content-type", "application/json").end(product));
    // The extracted service: answers p as the monolith does, and fails every request to r.
    svc = await startFixture((req, res) => {
      if (req.url?.startsWith("/r")) res.writeHead(500, { "content-type": "application/json" }).end('{"error":"boom"}');
      else res.setHeader("content-type", "application/json").end(product);
    });
    const config = writeConfig(temp.dir, {
      backends: { legacy: { url: legacy.url }, svc: { url: svc.url } },
      guards: { intervalMs: INTERVAL_MS },
      routes: [
        // Every node alone sees fewer than minSamples target requests; the fleet together sees more.
        { id: "r", match: { path: "/r" }, target: "svc", rollout: { percent: 100 }, guard: { minSamples: 30, maxErrorRate: 0.5 } },
        { id: "p", match: { path: "/p" }, target: "svc", rollout: { percent: 0 }, shadow: { percent: 100 }, promote: { steps: [10, 50, 100], intervalMs: 1_000, minSamples: 5, maxDivergenceRate: 0.5 } },
      ],
    });
    for (let i = 0; i < 3; i++) nodes.push(await spawnProxy(config, { DATABASE_URL: postgres.url }));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await legacy?.close();
    await svc?.close();
    await postgres?.stop();
    temp.remove();
  });

  it("lists the three nodes on every node, and exactly one of them judges", async () => {
    let listing: FleetListing | undefined;
    for (let tries = 0; tries < 100 && !listing?.judge; tries++) {
      listing = await get<FleetListing>(nodes[0] as ChildProxy, "/api/fleet");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const node of nodes) {
      const seen = await get<FleetListing>(node, "/api/fleet");
      expect(seen.store).toBe("postgres");
      expect(seen.nodes).toHaveLength(3);
      expect(seen.judge).toBe(listing?.judge);
      expect(seen.nodes.filter((n) => n.judge).map((n) => n.nodeId)).toEqual([listing?.judge]);
      expect(seen.nodes.find((n) => n.self)?.address).toBe(new URL(node.url).host);
    }
    expect(nodes.map((n) => n.process.pid)).toContain(pidOf(listing?.judge as string));
  });

  it("a judge killed with SIGKILL is replaced within two guard intervals, and a promotion running through it takes each step once", async () => {
    const [first] = nodes as [ChildProxy];
    expect((await post(first, "/api/routes/p/promotion/start", { reason: "fleet promotion" })).status).toBe(200);
    // Traffic for the promotion's evidence, spread over whichever nodes are alive.
    let traffic = true;
    const sending = (async () => {
      for (let i = 0; traffic; i++) {
        const alive = live();
        await fetch(`${(alive[i % alive.length] as ChildProxy).url}/p`, { headers: { "x-user-id": `user-${i}` } }).then((r) => r.arrayBuffer()).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      // Once the first step is taken, kill the judge in the middle of the promotion.
      const firstStep = async () => (await get<{ entries: Array<{ action: string }> }>(first, "/api/audit?route=p&limit=50")).entries.some((e) => e.action === "promote_step");
      for (let waited = 0; !(await firstStep()); waited += 100) {
        if (waited > 20_000) throw new Error("the promotion took no step in 20 s");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const judge = (await judgeOf(first)) as string;
      const victim = nodes.find((n) => n.process.pid === pidOf(judge)) as ChildProxy;
      const killedAt = Date.now();
      victim.process.kill("SIGKILL");
      const survivor = live().find((n) => n !== victim) as ChildProxy;
      let next = judge;
      while (next === judge || next === null) {
        if (Date.now() - killedAt > 10_000) throw new Error("no node took the judge's seat in 10 s");
        next = ((await judgeOf(survivor).catch(() => null)) ?? null) as string;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const failoverMs = Date.now() - killedAt;
      console.log(`judge failover after SIGKILL: ${failoverMs} ms (guards.intervalMs ${INTERVAL_MS})`);
      expect(failoverMs).toBeLessThan(2 * INTERVAL_MS);
      expect(live().map((n) => n.process.pid)).toContain(pidOf(next));

      // The new judge finishes the promotion.
      const audit = async () => (await get<{ entries: Array<{ action: string; newValue: { step?: number } | null }> }>(survivor, "/api/audit?route=p&limit=100")).entries;
      for (let waited = 0; !(await audit()).some((e) => e.action === "promotion_done"); waited += 100) {
        if (waited > 30_000) throw new Error(`the promotion did not finish: ${JSON.stringify((await audit()).map((e) => e.action))}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const steps = (await audit()).filter((e) => e.action === "promote_step" || e.action === "promotion_done").reverse();
      expect(steps.map((e) => `${e.action} ${e.newValue?.step}`)).toEqual(["promote_step 1", "promote_step 2", "promotion_done 2"]);
      for (const node of live()) expect((await get<{ rollout: { livePercent: number } }>(node, "/api/routes/p")).rollout.livePercent).toBe(100);
    } finally {
      traffic = false;
      await sending;
    }
  }, 60_000);

  it("trips a guard on the evidence of the whole fleet when no node alone has enough", async () => {
    const alive = live();
    expect(alive).toHaveLength(2);
    // 20 failing requests through each node: below minSamples (30) on each, 40 together.
    for (const node of alive) {
      for (let i = 0; i < 20; i++) expect((await fetch(`${node.url}/r`, { headers: { "x-user-id": `u${i}` } })).status).toBe(500);
    }
    const sentAt = Date.now();
    const percents = async () => Promise.all(alive.map(async (n) => (await get<{ rollout: { livePercent: number } }>(n, "/api/routes/r")).rollout.livePercent));
    while ((await percents()).some((p) => p !== 0)) {
      if (Date.now() - sentAt > 15_000) throw new Error(`the guard did not trip: ${(await percents()).join(", ")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    console.log(`fleet-wide guard trip: every node at 0% ${Date.now() - sentAt} ms after the last request`);
    // One evaluation after the evidence reached the store: a flush (1 s) and an interval, with room to spare.
    expect(Date.now() - sentAt).toBeLessThan(1_000 + 2 * INTERVAL_MS + 2_000);
    const { entries } = await get<{ entries: Array<{ action: string; actor: string; newValue: { evidence?: { target: { requests: number; errors: number } } } }> }>(alive[0] as ChildProxy, "/api/audit?route=r&limit=20");
    const halted = entries.filter((e) => e.action === "halted");
    expect(halted).toHaveLength(1);
    expect(halted[0]?.actor).toBe("guard");
    expect(halted[0]?.newValue.evidence?.target).toMatchObject({ requests: 40, errors: 40 });
  }, 30_000);
});
