import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/wait.ts";

/**
 * Issue 32: the evidence on a PostgreSQL database of its own (EVIDENCE_DATABASE_URL), the rollout state,
 * audit trail and the rest on the main one (DATABASE_URL). Two nodes: a guard trips on the evidence
 * they wrote together, the divergences they saw are listed through either, a recurring divergence is
 * told once in the audit trail, and each database holds only its own rows.
 */
describe("the fleet's evidence on a database of its own", () => {
  const temp = makeTempDir();
  let postgres: TestPostgres;
  let legacy: Fixture;
  let svc: Fixture;
  let mainUrl: string;
  let evidenceUrl: string;
  const nodes: Strangler[] = [];

  beforeAll(async () => {
    postgres = await startTestPostgres();
    mainUrl = await postgres.createDatabase(`main_${process.pid}_${Date.now()}`);
    evidenceUrl = await postgres.createDatabase(`evidence_${process.pid}_${Date.now()}`);
    legacy = await startFixture((_req, res) => res.setHeader("content-type", "application/json").end('{"price":10}'));
    // The service answers the shadowed route with the price as a string, and fails every request to /g.
    svc = await startFixture((req, res) => {
      if (req.url?.startsWith("/g")) res.writeHead(500, { "content-type": "application/json" }).end('{"error":"boom"}');
      else res.setHeader("content-type", "application/json").end('{"price":"10"}');
    });
    const config = writeConfig(temp.dir, {
      backends: { legacy: { url: legacy.url }, svc: { url: svc.url } },
      guards: { intervalMs: 500 },
      fleet: { evidenceFlushMs: 100, foldMs: 200 },
      shadowing: { announceDivergenceAt: 5, evidenceFlushMs: 50 },
      routes: [
        { id: "s", match: { path: "/s" }, target: "svc", rollout: { percent: 0 }, shadow: { percent: 100 } },
        { id: "g", match: { path: "/g" }, target: "svc", rollout: { percent: 100 }, guard: { minSamples: 10, maxErrorRate: 0.5 } },
      ],
    });
    for (let i = 0; i < 2; i++) nodes.push(await startTestProxy(config, { databaseUrl: mainUrl, evidenceDatabaseUrl: evidenceUrl }));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await legacy?.close();
    await svc?.close();
    await postgres?.stop();
    temp.remove();
  });

  const count = async (url: string, sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return Number((await client.query<{ n: string }>(sql)).rows[0]?.n);
    } finally {
      await client.end();
    }
  };

  it("judges, lists and tells the evidence of both nodes from the evidence database, and keeps each database to its own rows", async () => {
    // Six failing requests through each node: neither alone reaches the guard's minSamples (10).
    for (const node of nodes) for (let i = 0; i < 6; i++) await fetch(`${node.url}/g`);
    for (const node of nodes) for (let i = 0; i < 6; i++) await fetch(`${node.url}/s`);
    await until(
      async () => (await (await fetch(`${nodes[1]!.adminUrl}/api/routes/g/migration`)).json()) as { state?: string },
      (m) => m.state === "halted",
      15_000,
    );
    const divergences = await until(
      async () => (await (await fetch(`${nodes[0]!.adminUrl}/api/routes/s/divergences`)).json()) as { signatures?: Array<{ path: string; count: number }> },
      (d) => (d.signatures ?? []).some((s) => s.path === "$.price" && s.count === 12),
      15_000,
    );
    expect(divergences.signatures?.find((s) => s.path === "$.price")?.count).toBe(12);
    // Told once, in the main database's audit trail, though both nodes saw it past announceDivergenceAt.
    await until(() => count(mainUrl, "SELECT count(*) AS n FROM audit_log WHERE route_id = 's' AND actor = 'shadow'"), (n) => n === 1, 10_000);
    // Each database holds its own rows only.
    expect(await count(evidenceUrl, "SELECT count(*) AS n FROM evidence_buckets WHERE route_id = 'g'")).toBeGreaterThan(0);
    expect(await count(evidenceUrl, "SELECT count(*) AS n FROM shadow_signatures")).toBe(1);
    expect(await count(mainUrl, "SELECT count(*) AS n FROM evidence_buckets")).toBe(0);
    expect(await count(mainUrl, "SELECT count(*) AS n FROM shadow_signatures")).toBe(0);
    expect(await count(mainUrl, "SELECT count(*) AS n FROM fleet_inbox")).toBe(0);
    expect(await count(mainUrl, "SELECT count(*) AS n FROM audit_log WHERE action = 'halted' AND route_id = 'g'")).toBe(1);
    expect(await count(evidenceUrl, "SELECT count(*) AS n FROM audit_log")).toBe(0);
    expect(await count(evidenceUrl, "SELECT count(*) AS n FROM rollout_state")).toBe(0);
  });

  it("refuses an evidence database without a main one, saying so", async () => {
    const config = writeConfig(temp.dir, { backends: { legacy: { url: legacy.url } }, routes: [] }, "alone.config.ts");
    await expect(startTestProxy(config, { evidenceDatabaseUrl: evidenceUrl })).rejects.toThrow(/EVIDENCE_DATABASE_URL needs DATABASE_URL/);
  });
});
