import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStores, type Stores } from "../../src/store/open-stores.ts";
import { POSTGRES_MIGRATIONS, migratePostgres } from "../../src/store/postgres/migrations.ts";
import type { EvidenceBatchItem } from "../../src/store/shadow-repository.ts";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";

/**
 * PostgreSQL's inbox (issue 32): each node writes one row per flush, the judge folds them into one row
 * per route and bucket. What must hold: nothing counted twice or lost, even with two judges folding at
 * once; a row per node per flush whatever the number of routes; the fleet's examples sampled once.
 */
let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const retention = { examplesPerSignature: 5, examplesPerSignaturePerMinute: 2, signaturesPerRoute: 200, maxAgeDays: 3650, announceDivergenceAt: 1_000_000 };
const opened: Stores[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});
async function fleetOf(n: number, name: string): Promise<{ url: string; nodes: Stores[] }> {
  const url = await postgres.createDatabase(`${name}_${process.pid}_${Date.now()}`);
  const nodes: Stores[] = [];
  for (let i = 0; i < n; i++) nodes.push(await openStores({ dataDir: "unused", databaseUrl: url, outboxMs: 10 }));
  opened.push(...nodes);
  return { url, nodes };
}
const tableRows = async (url: string, table: string) => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);
  } finally {
    await client.end();
  }
};

describe("the fleet's inbox on PostgreSQL", () => {
  it("writes one inbox row per node and flush, and folds them into one row per route and bucket, nothing twice, with two judges at once", async () => {
    const { url, nodes } = await fleetOf(6, "inbox_fold");
    const routes = Array.from({ length: 40 }, (_, i) => `route-${i}`);
    // Every node writes every route's counts, five flushes each.
    for (let flush = 0; flush < 5; flush++) {
      await Promise.all(
        nodes.map((n, i) =>
          n.evidence.add(`n${i}`, routes.flatMap((routeId) => [
            { routeId, bucket: T0, metric: "target.requests", count: 2 },
            { routeId, bucket: T0, metric: "target.errors", count: 1 },
            { routeId, bucket: T0 + 5_000, metric: "compared", count: 3 },
          ])),
        ),
      );
    }
    expect(await tableRows(url, "fleet_inbox")).toBe(6 * 5);
    // Two judges fold at once (one handing over to the next): disjoint rows, every count once.
    const folds = await Promise.all([nodes[0]!.fold(), nodes[1]!.fold(), nodes[2]!.fold()]);
    expect(folds.reduce((sum, f) => sum + f.inboxRows, 0)).toBe(30);
    expect(await tableRows(url, "fleet_inbox")).toBe(0);
    expect(await tableRows(url, "evidence_buckets")).toBe(routes.length * 2);
    const summaries = await nodes[3]!.evidence.summaries(routes.map((routeId) => ({ routeId, fromMs: T0 })), T0 + 10_000);
    for (const s of summaries) expect(s).toMatchObject({ target: { requests: 60, errors: 30 }, shadow: { compared: 90 } });
    // Grouped: each route's own window.
    const [late, early] = await nodes[4]!.evidence.summaries([{ routeId: "route-1", fromMs: T0 + 5_000 }, { routeId: "route-2", fromMs: T0 }], T0 + 5_000);
    expect(late).toMatchObject({ target: { requests: 0 }, shadow: { compared: 0 } });
    expect(early).toMatchObject({ target: { requests: 60 }, shadow: { compared: 0 } });
    expect((await nodes[5]!.evidence.history("route-7", Math.floor(T0 / 60_000), Math.floor(T0 / 60_000) + 1))[0]?.target).toMatchObject({ requests: 60, errors: 30 });
  });

  it("carries a node's shadow results in the same inbox row as its evidence, and keeps the fleet's examples per signature and minute", async () => {
    const { url, nodes } = await fleetOf(4, "inbox_shadow");
    const now = Date.now();
    const diverged = (node: number, k: number): EvidenceBatchItem => ({
      routeId: "r",
      atMs: now,
      outcome: "diverge",
      signatures: [{ path: "$.price", kind: "changed" }],
      example: { requestId: `n${node}-${k}`, method: "GET", path: "/p", query: "", primary: "legacy", legacyStatus: 200, targetStatus: 200, legacyMs: 1, targetMs: 1, requestHeaders: {}, requestBody: "", legacyBody: "{}", targetBody: "{}", differences: [] },
    });
    await Promise.all(
      nodes.map((n, i) => Promise.all([n.evidence.add(`n${i}`, [{ routeId: "r", bucket: T0, metric: "compared", count: 3 }]), n.shadows.writeBatch([diverged(i, 0), diverged(i, 1), diverged(i, 2)], retention)])),
    );
    expect(await tableRows(url, "fleet_inbox")).toBe(4);
    await nodes[0]!.fold();
    const [signature] = await nodes[1]!.shadows.signatures("r");
    expect(signature?.count).toBe(12);
    // Each node sent three; the fleet keeps examplesPerSignaturePerMinute (2) of this minute, not 4 × 2.
    expect(await nodes[2]!.shadows.examples(signature!.id, 100)).toHaveLength(2);
    expect((await nodes[3]!.shadows.outcomes("r", Math.floor(now / 60_000))).diverge).toBe(12);
  });

  it("carries the migration map in the same inbox row: counts summed per template and hour, sightings merged, one row per template", async () => {
    const { url, nodes } = await fleetOf(3, "inbox_map");
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    await Promise.all(
      nodes.map((n, i) =>
        Promise.all([
          n.evidence.add(`n${i}`, [{ routeId: "r", bucket: T0, metric: "compared", count: 1 }]),
          n.map.add({
            counts: [
              { method: "GET", template: "/api/orders/{id}", bucket: hour, metric: "requests", count: 10 },
              { method: "GET", template: "/api/orders/{id}", bucket: hour, metric: "legacy", count: 10 },
              { method: "GET", template: "/api/orders/{id}", bucket: hour, metric: "status.2", count: 9 },
              { method: "GET", template: "/api/orders/{id}", bucket: hour, metric: "bytes", count: 100 },
            ],
            seen: [{ method: "GET", template: "/api/orders/{id}", routeId: i === 2 ? "orders" : null, firstSeen: hour + i, lastSeen: hour + 10 + i, lastLegacyAt: hour + 10 + i, lastTargetAt: null }],
            collapsed: i === 0 ? ["GET /api/orders/*"] : [],
          }),
        ]),
      ),
    );
    expect(await tableRows(url, "fleet_inbox")).toBe(3);
    await nodes[0]!.fold();
    expect(await tableRows(url, "map_count_arrays")).toBe(1);
    const map = await nodes[1]!.map.read(hour);
    const count = (metric: string) => map.counts.find((c) => c.template === "/api/orders/{id}" && c.metric === metric)?.count;
    expect([count("requests"), count("legacy"), count("status.2"), count("bytes")]).toEqual([30, 30, 27, 300]);
    expect(map.hours).toEqual([{ bucket: hour, legacy: 30, target: 0 }]);
    expect(map.seen).toEqual([{ method: "GET", template: "/api/orders/{id}", routeId: "orders", firstSeen: hour, lastSeen: hour + 12, lastLegacyAt: hour + 12, lastTargetAt: null }]);
    expect(map.collapsed).toEqual(["GET /api/orders/*"]);
    expect((await nodes[2]!.map.servedFor("orders")).map((s) => s.template)).toEqual(["/api/orders/{id}"]);
  });

  it("migrates the map's rows per metric of before (version 17) to one row per template and hour", async () => {
    const pool = new pg.Pool({ connectionString: await postgres.createDatabase(`map_migration_${process.pid}_${Date.now()}`) });
    try {
      await pool.query("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
      for (const m of POSTGRES_MIGRATIONS.filter((m) => m.version <= 17)) {
        await pool.query(m.sql);
        await pool.query("INSERT INTO schema_migrations VALUES ($1, $2, $3)", [m.version, m.name, "then"]);
      }
      await pool.query("INSERT INTO map_counts (method, template, bucket, metric, count) VALUES ('GET', '/a', 3600000, 'requests', 4), ('GET', '/a', 3600000, 'target', 4), ('GET', '/a', 7200000, 'legacy', 2)");
      await migratePostgres(pool);
      const stores = await openStores({ dataDir: "unused", databaseUrl: (pool.options as { connectionString: string }).connectionString });
      opened.push(stores);
      const map = await stores.map.read(0);
      expect(map.counts.filter((c) => c.template === "/a").map((c) => [c.metric, c.count]).sort()).toEqual([["legacy", 2], ["requests", 4], ["target", 4]]);
      expect(map.hours).toEqual([{ bucket: 3_600_000, legacy: 0, target: 4 }, { bucket: 7_200_000, legacy: 2, target: 0 }]);
    } finally {
      await pool.end();
    }
  });

  it("migrates the rows per metric and node of before (version 16) to one row per route and bucket, summed over nodes", async () => {
    const pool = new pg.Pool({ connectionString: await postgres.createDatabase(`inbox_migration_${process.pid}_${Date.now()}`) });
    try {
      await pool.query("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
      for (const m of POSTGRES_MIGRATIONS.filter((m) => m.version <= 16)) {
        await pool.query(m.sql);
        await pool.query("INSERT INTO schema_migrations VALUES ($1, $2, $3)", [m.version, m.name, "then"]);
      }
      await pool.query(
        `INSERT INTO evidence_counts (node_id, route_id, bucket, metric, count) VALUES
           ('a', 'r', $1, 'target.requests', 10), ('b', 'r', $1, 'target.requests', 5), ('a', 'r', $1, 'target.errors', 2),
           ('a', 'r', $1, 'fallbacks', 1), ('b', 'r', $2, 'compared', 4)`,
        [T0, T0 + 5_000],
      );
      await pool.query("INSERT INTO traffic_minutes (route_id, minute, metric, count) VALUES ('r', $1, 'legacy.requests', 7), ('r', $1, 'legacy.errors', 1)", [Math.floor(T0 / 60_000)]);
      await migratePostgres(pool);
      const stores = await openStores({ dataDir: "unused", databaseUrl: (pool.options as { connectionString: string }).connectionString });
      opened.push(stores);
      expect(await stores.evidence.summary("r", T0, T0 + 10_000)).toMatchObject({ target: { requests: 15, errors: 2 }, shadow: { compared: 4 }, fallbacks: 1 });
      expect((await stores.evidence.history("r", 0, Number.MAX_SAFE_INTEGER))[0]?.legacy).toMatchObject({ requests: 7, errors: 1 });
    } finally {
      await pool.end();
    }
  });
});
