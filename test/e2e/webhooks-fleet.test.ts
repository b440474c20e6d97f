import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { adminJson } from "../helpers/admin.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/wait.ts";

/**
 * Webhooks in a fleet: three nodes on one PostgreSQL, changes made through any of them. The judge alone
 * delivers, each event once and in order; when it leaves, the next judge goes on from its place.
 */
describe("webhooks from three proxy nodes on one PostgreSQL", () => {
  const temp = makeTempDir();
  let postgres: TestPostgres;
  let backend: Fixture;
  let receiver: Fixture;
  const received: Array<{ id: string; percent: number; auditId: number }> = [];
  const nodes: Strangler[] = [];

  beforeAll(async () => {
    postgres = await startTestPostgres();
    backend = await startFixture((_req, res) => res.end("ok"));
    receiver = await startFixture((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: string; after: { percent: number }; auditId: number };
        received.push({ id: body.id, percent: body.after.percent, auditId: body.auditId });
        res.writeHead(204).end();
      });
    });
    for (let i = 0; i < 3; i++) {
      const config = writeConfig(
        temp.dir,
        {
          backends: { legacy: { url: backend.url }, svc: { url: backend.url } },
          // A short lease: a judge that leaves is replaced within about 1⅓ s.
          guards: { intervalMs: 1_000 },
          webhooks: [{ name: "sink", url: `${receiver.url}/events`, secret: "fleet-secret-0123456789", events: ["percentage.set"] }],
          routes: [{ id: "r", match: { path: "/r" }, target: "svc", rollout: { percent: 0 } }],
        },
        `node-${i}.config.ts`,
      );
      nodes.push(await startTestProxy(config, { databaseUrl: postgres.url, pollMs: 250 }));
    }
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await Promise.all([backend?.close(), receiver?.close()]);
    await postgres?.stop();
    temp.remove();
  });

  const set = (node: Strangler, percent: number) => adminJson(node.adminUrl, "/api/routes/r/rollout", { method: "PUT", json: { percent, reason: `to ${percent}` } });
  const judgeOf = async (node: Strangler) => (await until(async () => (await adminJson<{ judge: string | null }>(node.adminUrl, "/api/fleet")).judge, (j) => j !== null)) as string;
  const selfOf = async (node: Strangler) => ((await adminJson<{ nodes: Array<{ nodeId: string; self: boolean }> }>(node.adminUrl, "/api/fleet")).nodes.find((n) => n.self) as { nodeId: string }).nodeId;

  it("delivers each change made on any node once, in the order of the audit trail, and goes on from there after the judge leaves", async () => {
    for (let i = 1; i <= 9; i++) await set(nodes[i % 3] as Strangler, i);
    await until(async () => received.length, (n) => n >= 9, 30_000);
    expect(received.map((r) => r.percent)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const judge = await judgeOf(nodes[0] as Strangler);
    const index = (await Promise.all(nodes.map(selfOf))).indexOf(judge);
    expect(index).toBeGreaterThanOrEqual(0);
    const [leaving] = nodes.splice(index, 1);
    await (leaving as Strangler).close();
    for (let i = 10; i <= 14; i++) await set(nodes[i % 2] as Strangler, i);
    await until(async () => received.length, (n) => n >= 14, 30_000);
    // Give a second deliverer, were there one, the time to send anything twice.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(received.map((r) => r.percent)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(new Set(received.map((r) => r.id)).size).toBe(14);
    const ids = received.map((r) => r.auditId);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(await judgeOf(nodes[0] as Strangler)).not.toBe(judge);
    const hook = (await adminJson<{ webhooks: Array<{ delivery: { delivered: number; failed: number } }> }>((nodes[1] as Strangler).adminUrl, "/api/webhooks")).webhooks[0];
    expect(hook?.delivery).toMatchObject({ delivered: 14, failed: 0 });
  });
});
