import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { adminJson } from "../helpers/admin.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/wait.ts";

const MINUTES = 60_000;

/**
 * Three nodes on one PostgreSQL whose wall clocks disagree by minutes (one 5 min behind, one 5 min
 * ahead): the judge's lease is timed by the database's clock, so exactly one of them judges, from the
 * first moment on, and a failing route is halted once.
 */
describe("a fleet whose nodes' clocks disagree by minutes", () => {
  const temp = makeTempDir();
  let postgres: TestPostgres;
  let legacy: Fixture;
  let failing: Fixture;
  const nodes: Strangler[] = [];
  /** Every sample where more than one node believed it judged. */
  const overlaps: string[] = [];
  const judges = new Set<number>();
  let sampling: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    legacy = await startFixture((_req, res) => res.end("ok"));
    failing = await startFixture((_req, res) => res.writeHead(500).end("boom"));
    // Watched from before the first node starts: a lease taken from a node that still believes it holds
    // one (what a clock minutes ahead did, comparing its time with another's expiry) is seen at once.
    sampling = setInterval(() => {
      const judging = nodes.map((n, i) => (n.judging() ? i : -1)).filter((i) => i >= 0);
      if (judging.length > 1) overlaps.push(`nodes ${judging.join(" and ")} at ${new Date().toISOString()}`);
      for (const i of judging) judges.add(i);
    }, 5);
    // The node behind starts first, then the one on time, then the one ahead: each would have taken the
    // lease from the one before it had the nodes' clocks timed it.
    for (const [i, skew] of [-5 * MINUTES, 0, 5 * MINUTES].entries()) {
      const config = writeConfig(
        temp.dir,
        {
          backends: { legacy: { url: legacy.url }, svc: { url: failing.url } },
          guards: { intervalMs: 600 },
          routes: [{ id: "r", match: { path: "/r" }, target: "svc", rollout: { percent: 100 }, guard: { windowMs: 60_000, minSamples: 10, maxErrorRate: 0.2 } }],
        },
        `clock-${i}.config.ts`,
      );
      nodes.push(await startTestProxy(config, { databaseUrl: postgres.url, pollMs: 250, wallClock: () => Date.now() + skew }));
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
  });
  afterAll(async () => {
    clearInterval(sampling);
    await Promise.all(nodes.map((n) => n.close()));
    await Promise.all([legacy?.close(), failing?.close()]);
    await postgres?.stop();
    temp.remove();
  });

  it("has one judge, the first to take the lease, and halts a failing route once", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(overlaps).toEqual([]);
    expect([...judges]).toEqual([0]);
    const fleet = await adminJson<{ judge: string; nodes: Array<{ nodeId: string; self: boolean }> }>((nodes[2] as Strangler).adminUrl, "/api/fleet");
    const first = await adminJson<{ nodes: Array<{ nodeId: string; self: boolean }> }>((nodes[0] as Strangler).adminUrl, "/api/fleet");
    expect(fleet.judge).toBe(first.nodes.find((n) => n.self)?.nodeId);

    for (let i = 0; i < 60; i++) await (await fetch(`${(nodes[i % 3] as Strangler).url}/r`, { headers: { "x-user-id": `u${i}` } })).arrayBuffer();
    const halted = async () => (await adminJson<{ entries: Array<{ action: string }> }>((nodes[1] as Strangler).adminUrl, "/api/audit?route=r&limit=50")).entries.filter((e) => e.action === "halted");
    expect(await until(halted, (h) => h.length >= 1, 20_000)).toHaveLength(1);
    // A few more evaluations by every node that might believe it judges: still one.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await halted()).toHaveLength(1);
    expect(overlaps).toEqual([]);
  });
});
