import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MapSeen } from "../../src/store/map-store.ts";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { storeKinds, withStore } from "../helpers/stores.ts";

/** The migration map's store on SQLite (the processes of a host) and PostgreSQL (the nodes of a fleet). */
let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const seen = (over: Partial<MapSeen> = {}): MapSeen => ({ method: "GET", template: "/api/users/:id", routeId: null, firstSeen: T0, lastSeen: T0, lastLegacyAt: T0, lastTargetAt: null, ...over });

describe.each(storeKinds(() => postgres))("the map store on %s", (_kind, open) => {
  it(
    "sums every node's counts per template since a time, and per hour by side",
    withStore(open, async (s) => {
      const [a, b] = [await s.node(), await s.node()];
      await a.map.add({
        counts: [
          { method: "GET", template: "/api/users/:id", bucket: T0, metric: "requests", count: 10 },
          { method: "GET", template: "/api/users/:id", bucket: T0, metric: "legacy", count: 10 },
          { method: "GET", template: "/api/users/:id", bucket: T0 - 48 * HOUR, metric: "requests", count: 999 },
        ],
        seen: [seen()],
        collapsed: ["/tags"],
      });
      await b.map.add({
        counts: [
          { method: "GET", template: "/api/users/:id", bucket: T0, metric: "requests", count: 5 },
          { method: "GET", template: "/api/users/:id", bucket: T0, metric: "target", count: 5 },
          { method: "GET", template: "/api/users/:id", bucket: T0 + HOUR, metric: "legacy", count: 2 },
          { method: "GET", template: "/api/users/:id", bucket: T0 + HOUR, metric: "requests", count: 2 },
        ],
        seen: [],
        collapsed: ["/tags", "/api/blog"],
      });
      await s.settle();
      const map = await a.map.read(T0 - HOUR);
      const count = (metric: string) => map.counts.find((c) => c.template === "/api/users/:id" && c.metric === metric)?.count;
      expect([count("requests"), count("legacy"), count("target")]).toEqual([17, 12, 5]);
      expect(map.hours).toEqual([
        { bucket: T0, legacy: 10, target: 5 },
        { bucket: T0 + HOUR, legacy: 2, target: 0 },
      ]);
      expect([...map.collapsed].sort()).toEqual(["/api/blog", "/tags"]);
      expect(map.seen).toEqual([seen()]);
    }),
  );

  it(
    "keeps the earliest first sight and the latest of each other time, whichever node reports it",
    withStore(open, async (s) => {
      const [a, b] = [await s.node(), await s.node()];
      await a.map.add({ counts: [], seen: [seen({ routeId: "users", firstSeen: T0, lastSeen: T0 + 100, lastLegacyAt: T0 + 100, lastTargetAt: null })], collapsed: [] });
      await b.map.add({ counts: [], seen: [seen({ routeId: "users", firstSeen: T0 - 50, lastSeen: T0 + 90, lastLegacyAt: null, lastTargetAt: T0 + 90 })], collapsed: [] });
      await b.map.add({ counts: [], seen: [seen({ template: "/api/users", routeId: "users", lastLegacyAt: T0 + 5 })], collapsed: [] });
      await s.settle();
      expect(await a.map.servedFor("users")).toEqual([
        seen({ routeId: "users", firstSeen: T0 - 50, lastSeen: T0 + 100, lastLegacyAt: T0 + 100, lastTargetAt: T0 + 90 }),
        seen({ template: "/api/users", routeId: "users", lastLegacyAt: T0 + 5 }),
      ]);
      expect(await a.map.servedFor("orders")).toEqual([]);
      // The newest sighting names the route: the template left the route, and the monolith has it again.
      await a.map.add({ counts: [], seen: [seen({ routeId: null, lastSeen: T0 + 200, lastLegacyAt: T0 + 200 })], collapsed: [] });
      await s.settle();
      expect((await a.map.servedFor("users")).map((r) => r.template)).toEqual(["/api/users"]);
    }),
  );

  it(
    "prunes count buckets and templates not seen since the cut",
    withStore(open, async (s) => {
      const { map } = await s.node();
      await map.add({
        counts: [
          { method: "GET", template: "/old", bucket: T0 - 10 * HOUR, metric: "requests", count: 1 },
          { method: "GET", template: "/new", bucket: T0, metric: "requests", count: 1 },
        ],
        seen: [seen({ template: "/old", lastSeen: T0 - 10 * HOUR }), seen({ template: "/new" })],
        collapsed: [],
      });
      await s.settle();
      await map.prune(T0 - HOUR);
      const after = await map.read(0);
      expect(after.counts.map((c) => c.template)).toEqual(["/new"]);
      expect(after.seen.map((c) => c.template)).toEqual(["/new"]);
    }),
  );
});
