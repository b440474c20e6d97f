import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { storeKinds, withStore } from "../helpers/stores.ts";

/** The fleet registry and the judge's lease, on SQLite (the workers of one host) and PostgreSQL (a fleet). */
let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

const T0 = Date.UTC(2026, 11, 1);

describe.each(storeKinds(() => postgres))("the fleet store on %s", (_kind, open) => {
  it(
    "lists the nodes seen lately, oldest first, and forgets one that leaves",
    withStore(open, async (s) => {
      const { fleet } = await s.node();
      await fleet.heartbeat({ nodeId: "b", address: "10.0.0.2:8080", version: "0.1.0", startedAt: T0 + 5 }, T0 + 10);
      await fleet.heartbeat({ nodeId: "a", address: "10.0.0.1:8080", version: "0.1.0", startedAt: T0 }, T0 + 10);
      await fleet.heartbeat({ nodeId: "a", address: "10.0.0.1:8080", version: "0.1.1", startedAt: T0 }, T0 + 20);
      expect(await fleet.nodes(T0)).toEqual([
        { nodeId: "a", address: "10.0.0.1:8080", version: "0.1.1", startedAt: T0, lastSeen: T0 + 20 },
        { nodeId: "b", address: "10.0.0.2:8080", version: "0.1.0", startedAt: T0 + 5, lastSeen: T0 + 10 },
      ]);
      expect((await fleet.nodes(T0 + 15)).map((n) => n.nodeId)).toEqual(["a"]);
      await fleet.leave("a");
      expect((await fleet.nodes(T0)).map((n) => n.nodeId)).toEqual(["b"]);
    }),
  );

  it(
    "gives the lease to one node at a time, timed by the store's own clock: renewable by its holder, free for another once expired or released",
    withStore(open, async (s) => {
      const { fleet } = await s.node();
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      expect(await fleet.lease("judge")).toBeUndefined();
      const taken = await fleet.acquire("judge", "a", 1_000);
      expect(taken.holder).toBe("a");
      expect(taken.remainingMs).toBeGreaterThan(500);
      expect(taken.remainingMs).toBeLessThanOrEqual(1_000);
      expect((await fleet.acquire("judge", "b", 1_000)).holder).toBe("a");
      await sleep(300);
      // Renewed by its holder: a full lease again from the store's now.
      expect((await fleet.acquire("judge", "a", 1_000)).remainingMs).toBeGreaterThan(800);
      expect((await fleet.lease("judge"))?.holder).toBe("a");
      await sleep(1_100);
      expect((await fleet.lease("judge"))?.remainingMs).toBeLessThanOrEqual(0);
      expect((await fleet.acquire("judge", "b", 1_000)).holder).toBe("b");
      await fleet.release("judge", "a"); // not a's any more: nothing happens
      expect((await fleet.acquire("judge", "a", 1_000)).holder).toBe("b");
      await fleet.release("judge", "b");
      expect(await fleet.lease("judge")).toBeUndefined();
      expect((await fleet.acquire("judge", "a", 1_000)).holder).toBe("a");
    }),
  );

  it(
    "of many nodes racing for a free lease, exactly one gets it",
    withStore(open, async (s) => {
      const nodes = await Promise.all(Array.from({ length: 6 }, () => s.node()));
      const results = await Promise.all(nodes.map((n, i) => n.fleet.acquire("judge", `node-${i}`, 5_000)));
      const holders = new Set(results.map((r) => r.holder));
      expect(holders.size).toBe(1);
      const [winner] = [...holders];
      expect(results.filter((r, i) => r.holder === `node-${i}`)).toHaveLength(1);
      expect(winner).toMatch(/^node-\d$/);
    }),
  );
});
