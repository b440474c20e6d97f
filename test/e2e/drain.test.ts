import { once } from "node:events";
import { request } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { spawnProxy } from "../helpers/child-proxy.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

/** One request on its own connection: its status and body, or the error that ended it. */
function get(url: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", (e) => resolve({ error: e.message }));
    });
    req.on("error", (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end();
  });
}

/** SIGTERM as Kubernetes sends it, with real requests in flight through the proxy process. */
describe("draining on SIGTERM", () => {
  const temp = makeTempDir();
  let slow: Fixture;
  afterAll(async () => {
    await slow?.close();
    temp.remove();
  });

  it("stops accepting at once, lets in-flight requests finish, then exits 0", async () => {
    slow = await startFixture((req, res) => {
      const ms = Number(new URL(req.url ?? "/", "http://x").searchParams.get("ms") ?? 0);
      setTimeout(() => res.end(`done after ${ms}`), ms);
    });
    const proxy = await spawnProxy(writeConfig(temp.dir, { backends: { legacy: { url: slow.url } }, server: { shutdownGraceMs: 4_000 } }, "drain.config.ts"));
    const inFlight = Array.from({ length: 5 }, () => get(`${proxy.url}/work?ms=1500`));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sentAt = Date.now();
    const exited = once(proxy.process, "exit");
    proxy.process.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 200));
    // A new connection after SIGTERM is refused: the listener is closed.
    expect(await get(`${proxy.url}/work?ms=0`)).toEqual({ error: "ECONNREFUSED" });
    expect(await Promise.all(inFlight)).toEqual(Array.from({ length: 5 }, () => ({ status: 200, body: "done after 1500" })));
    const [code] = (await exited) as [number];
    expect(code).toBe(0);
    // It waited for the requests (about 1.2 s more), not for the whole grace period.
    expect(Date.now() - sentAt).toBeLessThan(3_500);
  });

  it("cuts what is still running when the grace period ends, and exits 0 all the same", async () => {
    const proxy = await spawnProxy(writeConfig(temp.dir, { backends: { legacy: { url: slow.url } }, server: { shutdownGraceMs: 1_000 } }, "cut.config.ts"));
    const stuck = get(`${proxy.url}/work?ms=10000`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sentAt = Date.now();
    const exited = once(proxy.process, "exit");
    proxy.process.kill("SIGTERM");
    const [code] = (await exited) as [number];
    expect(code).toBe(0);
    const took = Date.now() - sentAt;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(5_000);
    expect(await stuck).toMatchObject({ error: expect.any(String) });
  });
});
