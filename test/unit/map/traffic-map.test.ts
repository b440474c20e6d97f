import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/guard/clock.ts";
import { buildMap } from "../../../src/map/map-view.ts";
import { OVERFLOW_TEMPLATE, TrafficMap } from "../../../src/map/traffic-map.ts";
import type { Stores } from "../../../src/store/open-stores.ts";
import { tempSqliteStores } from "../../helpers/stores.ts";

/** The traffic map on a real SQLite file: what it learns in memory, what it writes, what a reader sees. */
describe("the traffic map", () => {
  const temp = tempSqliteStores();
  const open = () => temp.open();
  afterEach(() => temp.closeAll());
  const logger = pino({ level: "silent" });
  const limits = { maxNodes: 500, maxLiterals: 50, maxDepth: 12 };

  it("holds 100,000 distinct paths in bounded memory, counting what the full trie refuses as overflow", async () => {
    const stores = await open();
    const map = new TrafficMap({ store: stores.map, clock: new ManualClock(), logger, limits });
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 100_000; i++) {
      // Shapes the collapse cannot merge: 40 literals (under maxLiterals) at each of three levels, 64,000 leaves.
      const path = `/a${i % 40}/b${Math.floor(i / 40) % 40}/c${Math.floor(i / 1_600) % 40}`;
      map.record("GET", path, undefined, "legacy", 200, true, 3, 100);
    }
    const grown = process.memoryUsage().heapUsed - before;
    expect(map.trie.size).toBeLessThanOrEqual(500);
    expect(map.overflow).toBeGreaterThan(0);
    // Generous: a few hundred templates with their counters, not 100,000 paths.
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    await map.flush();
    const view = buildMap(await stores.map.read(0), [], limits, 3_600_000);
    expect(view.requests).toBe(100_000);
    expect(view.overflow).toBe(map.overflow);
    expect(view.rows.find((r) => r.template === OVERFLOW_TEMPLATE)?.requests).toBe(map.overflow);
    expect(view.rows.length).toBeLessThanOrEqual(501);
  });

  it("merges, on read, what two processes wrote before and after one of them collapsed a position", async () => {
    const stores = await open();
    const clock = new ManualClock();
    const small = { ...limits, maxLiterals: 3 };
    const a = new TrafficMap({ store: stores.map, clock, logger, limits: small });
    const b = new TrafficMap({ store: stores.map, clock, logger, limits: small });
    // b sees two tags only: literal to it. a sees five: it collapses /tags.
    for (const tag of ["red", "blue"]) b.record("GET", `/tags/${tag}`, undefined, "legacy", 200, true, 1, undefined);
    for (const tag of ["red", "blue", "green", "cyan", "plum"]) a.record("GET", `/tags/${tag}`, undefined, "legacy", 200, true, 1, undefined);
    await Promise.all([a.flush(), b.flush()]);
    const view = buildMap(await stores.map.read(0), [], small, 3_600_000);
    expect(view.rows.map((r) => [r.template, r.requests])).toEqual([["/tags/:id", 7]]);
  });

  it("keeps counting when the store is down, and writes it all once it is back", async () => {
    const stores = await open();
    let down = true;
    const store = { ...stores.map, add: (batch: Parameters<Stores["map"]["add"]>[0]) => (down ? Promise.reject(new Error("connection refused")) : stores.map.add(batch)) };
    const map = new TrafficMap({ store, clock: new ManualClock(), logger, limits });
    map.record("GET", "/api/users/u_001", undefined, "legacy", 200, true, 1, 10);
    await map.flush();
    map.record("GET", "/api/users/u_002", "users", "target", 503, true, 1, 10);
    down = false;
    await map.flush();
    const view = buildMap(await stores.map.read(0), [], limits, 3_600_000);
    expect(view.rows).toMatchObject([{ method: "GET", template: "/api/users/:id", requests: 2, servedByServices: 0.5, status: { "2xx": 1, "5xx": 1 }, bytes: 20 }]);
  });
});
