import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

/**
 * Fleet mode: three proxy nodes on one PostgreSQL (DATABASE_URL), each with its own copy of the config
 * file, as replicas behind a load balancer have. A change made through any node applies on every node.
 */
describe("three proxy nodes on one PostgreSQL", () => {
  const temp = makeTempDir();
  let postgres: TestPostgres;
  let backend: Fixture;
  const nodes: Strangler[] = [];

  const config = (percent: number) => ({
    backends: { legacy: { url: backend.url }, svc: { url: backend.url } },
    routes: [{ id: "r", match: { path: "/r" }, target: "svc", rollout: { percent } }],
  });
  const admin = async (node: Strangler, path: string, init: { method?: string; json?: unknown } = {}) => {
    const res = await fetch(`${node.adminUrl}${path}`, {
      method: init.method ?? "GET",
      headers: init.json ? { "content-type": "application/json" } : {},
      ...(init.json ? { body: JSON.stringify(init.json) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** How long until every node's data plane reads `percent` for route r, in ms (fails past 5 s). */
  const propagation = async (percent: number) => {
    const started = Date.now();
    while (!nodes.every((n) => n.rollouts.state.get("r")?.percent === percent)) {
      if (Date.now() - started > 5_000) throw new Error(`not every node reached ${percent}%: ${nodes.map((n) => n.rollouts.state.get("r")?.percent).join(", ")}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return Date.now() - started;
  };

  beforeAll(async () => {
    postgres = await startTestPostgres();
    backend = await startFixture((_req, res) => res.end("ok"));
    for (let i = 0; i < 3; i++) {
      nodes.push(await startTestProxy(writeConfig(temp.dir, config(5), `node-${i}.config.ts`), { databaseUrl: postgres.url, pollMs: 250 }));
    }
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await backend?.close();
    await postgres?.stop();
    temp.remove();
  });

  it("starts every node from the one state: the file's percentage, applied once", async () => {
    expect(nodes.map((n) => n.rollouts.state.get("r")?.percent)).toEqual([5, 5, 5]);
    const { body } = await admin(nodes[2] as Strangler, "/api/audit?route=r&limit=10");
    expect((body.entries as Array<{ action: string }>).map((e) => e.action)).toEqual(["route_added"]);
  });

  it("a change through one node applies on every node within a second, and all of them audit it", async () => {
    const [a, b, c] = nodes as [Strangler, Strangler, Strangler];
    expect((await admin(a, "/api/routes/r/rollout", { method: "PUT", json: { percent: 40, reason: "fleet step" } })).status).toBe(200);
    const took = await propagation(40);
    console.log(`a change through one node reached all 3 nodes in ${took} ms`);
    expect(took).toBeLessThan(1_000);
    expect((await admin(c, "/api/routes/r")).body).toMatchObject({ rollout: { livePercent: 40, source: "admin" }, lastChange: { reason: "fleet step" } });
    expect((await admin(b, "/api/routes/r/rollback", { method: "POST", json: { reason: "errors on b" } })).status).toBe(200);
    expect(await propagation(0)).toBeLessThan(1_000);
    const { body } = await admin(c, "/api/audit?route=r&limit=20");
    const entries = body.entries as Array<{ action: string; reason: string }>;
    expect(entries.filter((e) => e.action !== "state_change").map((e) => `${e.action}: ${e.reason}`)).toEqual(["rollback: errors on b", "set_percent: fleet step", "route_added: route added in routes.config.ts"]);
    // Each node follows the percentage into the migration state (5% and 40% are both canary; 0% is
    // legacy), and exactly one of them records the move.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const states = (await admin(a, "/api/audit?route=r&limit=20")).body.entries as Array<{ action: string; reason: string }>;
    expect(states.filter((e) => e.action === "state_change").map((e) => e.reason)).toEqual(["percentage 0%: errors on b"]);
  });

  it("a reload of a changed config file on one node applies on every node", async () => {
    const [a] = nodes as [Strangler];
    writeConfig(temp.dir, config(25), "node-0.config.ts");
    expect(await a.reload()).toEqual({ applied: true });
    expect(await propagation(25)).toBeLessThan(1_000);
  });

  it("every node lists the fleet: all three, each marking itself", async () => {
    for (const [i, node] of nodes.entries()) {
      const { status, body } = await admin(node, "/api/fleet");
      expect(status).toBe(200);
      const listed = body.nodes as Array<{ nodeId: string; address: string; version: string; self: boolean }>;
      expect(body.store).toBe("postgres");
      expect(listed).toHaveLength(3);
      expect(listed.filter((n) => n.self)).toHaveLength(1);
      expect(listed.find((n) => n.self)?.address).toBe(new URL(node.url).host);
      expect(listed.every((n) => n.version === "0.1.0")).toBe(true);
      expect(new Set(listed.map((n) => n.nodeId)).size, `node ${i}`).toBe(3);
    }
  });

  it("a node whose LISTEN connection is cut still follows: the reconciliation catches up, and the listener comes back", async () => {
    const [a, , c] = nodes as [Strangler, Strangler, Strangler];
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const listeners = async () => (await client.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%'")).rows.map((r) => r.pid);
      const before = await listeners();
      expect(before).toHaveLength(3);
      // Cut every node's listening connection, as a failover of the database or a proxy in between would.
      await client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'");
      expect((await admin(a, "/api/routes/r/rollout", { method: "PUT", json: { percent: 60, reason: "while nobody listens" } })).status).toBe(200);
      // Within the reconciliation interval (fleet.reconcileMs, 1 s) or the reconnection (1 s), with room to spare.
      expect(await propagation(60)).toBeLessThan(3_000);
      let back: number[] = [];
      for (let waited = 0; waited < 5_000 && back.length < 3; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        back = (await listeners()).filter((pid) => !before.includes(pid));
      }
      expect(back).toHaveLength(3);
      expect((await fetch(`${c.adminUrl}/readyz`)).status).toBe(200);
      expect((await admin(c, "/api/routes/r/rollout", { method: "PUT", json: { percent: 70, reason: "listening again" } })).status).toBe(200);
      expect(await propagation(70)).toBeLessThan(1_000);
    } finally {
      await client.end();
    }
  });

  it("the dashboard, in headless Chromium, lists the fleet's nodes and marks the judge and itself", async () => {
    const [, b] = nodes as [Strangler, Strangler];
    let judge: unknown = null;
    for (let tries = 0; tries < 100 && judge === null; tries++) {
      judge = (await admin(b, "/api/fleet")).body.judge;
      if (judge === null) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(judge).toEqual(expect.any(String));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${b.adminUrl}/dashboard`);
      await page.waitForSelector("#fleet");
      expect(await page.locator("#fleet summary").textContent()).toContain(`3 nodes on PostgreSQL · judge ${judge as string}`);
      await page.locator("#fleet summary").click();
      const rows = page.locator("#fleet tbody tr");
      expect(await rows.count()).toBe(3);
      expect(await page.locator(`#fleet tr[data-node="${judge as string}"] .badge.judge`).count()).toBe(1);
      expect(await page.locator("#fleet .badge.judge").count()).toBe(1);
      const self = page.locator("#fleet tbody tr", { hasText: "(this node)" });
      expect(await self.count()).toBe(1);
      expect(await self.locator("td").nth(1).textContent()).toBe(new URL(b.url).host);
      // The list stays open across the page's refresh (every 2 s).
      await page.waitForTimeout(2_500);
      expect(await page.locator("#fleet").evaluate((d) => (d as unknown as { open: boolean }).open)).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it("merges the migration map of every node: traffic through each is counted once, on any node's map", async () => {
    for (const [i, node] of nodes.entries()) {
      for (let k = 0; k < 5 * (i + 1); k++) await (await fetch(`${node.url}/things/t_${i}${k}/parts`)).arrayBuffer();
    }
    // A node's map flushes its own deltas when asked; the others' arrive within map.flushMs (5 s).
    let map: { rows: Array<{ template: string; requests: number }> } | undefined;
    for (let waited = 0; waited < 10_000; waited += 200) {
      map = (await admin(nodes[0] as Strangler, "/api/map?hours=1")).body as typeof map;
      if (map?.rows.find((r) => r.template === "/things/:id/parts")?.requests === 30) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(map?.rows.find((r) => r.template === "/things/:id/parts")?.requests).toBe(30);
  });
});
