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
});
