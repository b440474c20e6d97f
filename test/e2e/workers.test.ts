import { request } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { processTree } from "../../bench/processes.ts";
import { spawnProxy } from "../helpers/child-proxy.ts";
import { startFixture } from "../helpers/fixture-server.ts";
import { writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

describe("--workers: several proxy processes on one port and one data directory", () => {
  const temp = makeTempDir();
  afterAll(() => temp.remove());

  it("serves from two workers, and stops them all on SIGTERM", async () => {
    const backend = await startFixture((_req, res) => res.end(String(process.pid)));
    const proxy = await spawnProxy(writeConfig(temp.dir, { backends: { legacy: { url: backend.url } } }), { WORKERS: "2" });
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, async () => (await fetch(`${proxy.url}/x`)).text()));
      expect(new Set(answers)).toEqual(new Set([String(process.pid)]));
      expect((await fetch(`${proxy.adminUrl}/healthz`)).status).toBe(200);
      // The primary and its two workers.
      expect(processTree(proxy.process.pid as number).length).toBeGreaterThanOrEqual(3);
    } finally {
      await proxy.stop();
      await backend.close();
    }
    expect(proxy.process.exitCode).toBe(0);
  });

  it("answers /metrics for all workers together, whichever worker the scrape reaches", async () => {
    const backend = await startFixture((_req, res) => res.end("ok"));
    const proxy = await spawnProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: backend.url }, svc: { url: backend.url } },
        routes: [{ id: "r", match: { path: "/r" }, target: "svc", rollout: { percent: 25 } }],
      }),
      { WORKERS: "2" },
    );
    // A new connection per request, so the primary hands them to both workers in turn.
    const once = () =>
      new Promise<void>((resolve, reject) => {
        const req = request(`${proxy.url}/r`, { agent: false, headers: { "x-user-id": String(Math.random()) } }, (res) => {
          res.resume();
          res.on("end", resolve);
        });
        req.on("error", reject);
        req.end();
      });
    try {
      for (let i = 0; i < 40; i++) await once();
      const served = (text: string) =>
        text
          .split("\n")
          .filter((line) => line.startsWith('strangler_requests_total{route="r"'))
          .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
      for (let scrape = 0; scrape < 6; scrape++) {
        const response = await fetch(`${proxy.adminUrl}/metrics`, { headers: { connection: "close" } });
        expect(response.status).toBe(200);
        const text = await response.text();
        expect(served(text), `scrape ${scrape}`).toBe(40);
        // The same state in each worker is shown once, not summed.
        expect(text).toMatch(/^strangler_rollout_percent\{route="r"\} 25$/m);
      }
    } finally {
      await proxy.stop();
      await backend.close();
    }
  });
});
