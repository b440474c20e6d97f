import { request } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { processTree } from "../../bench/processes.ts";
import { spawnProxy } from "../helpers/child-proxy.ts";
import { startFixture } from "../helpers/fixture-server.ts";
import { writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/wait.ts";

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

  it("pools the workers' evidence: a guard trips on the host's traffic when no worker alone has enough, judged by one worker", async () => {
    const backend = await startFixture((req, res) => {
      if (req.url?.startsWith("/r")) res.writeHead(500).end("boom");
      else res.end("ok");
    });
    const proxy = await spawnProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: backend.url }, svc: { url: backend.url } },
        guards: { intervalMs: 500 },
        routes: [{ id: "r", match: { path: "/r" }, target: "svc", rollout: { percent: 100 }, guard: { minSamples: 30, maxErrorRate: 0.5 } }],
      }),
      { WORKERS: "2" },
    );
    // A new connection per request: the primary hands them to the workers in turn (round-robin), 20 each.
    const once = () =>
      new Promise<void>((resolve, reject) => {
        const req = request(`${proxy.url}/r`, { agent: false }, (res) => {
          res.resume();
          res.on("end", resolve);
        });
        req.on("error", reject);
        req.end();
      });
    try {
      // The first worker's "listening" line starts the test; wait until the second has joined too.
      const fleet = async () => (await (await fetch(`${proxy.adminUrl}/api/fleet`, { headers: { connection: "close" } })).json()) as { store: string; nodes: unknown[] };
      const joined = await until(fleet, (f) => f.nodes.length === 2);
      expect(joined.store).toBe("sqlite");
      expect(joined.nodes).toHaveLength(2);
      for (let i = 0; i < 40; i++) await once();
      const sentAt = Date.now();
      const live = async () => ((await (await fetch(`${proxy.adminUrl}/api/routes/r`, { headers: { connection: "close" } })).json()) as { rollout: { livePercent: number } }).rollout.livePercent;
      while ((await live()) !== 0) {
        if (Date.now() - sentAt > 10_000) throw new Error("the guard did not trip on the workers' pooled evidence");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const { entries } = (await (await fetch(`${proxy.adminUrl}/api/audit?route=r&limit=10`, { headers: { connection: "close" } })).json()) as {
        entries: Array<{ action: string; newValue: { evidence?: { target: { requests: number } } } }>;
      };
      const halted = entries.filter((e) => e.action === "halted");
      expect(halted).toHaveLength(1);
      expect(halted[0]?.newValue.evidence?.target.requests).toBe(40);
    } finally {
      await proxy.stop();
      await backend.close();
    }
  });
});
