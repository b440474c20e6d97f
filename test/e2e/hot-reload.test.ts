import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStrangler, type Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { eventually } from "../helpers/wait.ts";
import { capturingLogger } from "../helpers/log-capture.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

describe("hot reload of routes.config.ts", () => {
  const temp = makeTempDir();
  const capture = capturingLogger();
  let legacy: Fixture;
  let service: Fixture;
  let proxy: Strangler;
  let configPath: string;

  /** Writes the config file as an editor would: TypeScript, with a type annotation, replaced whole. */
  function writeRoutes(percent: number | string, more = ""): void {
    writeFileSync(
      configPath,
      `const percent: number = ${percent};
export default {
  backends: { legacy: { url: ${JSON.stringify(legacy.url)} }, svc: { url: ${JSON.stringify(service.url)} } },
  routes: [{ id: "things", match: { path: "/things/*" }, target: "svc", rollout: { percent } }],
  ${more}
};
`,
    );
  }

  async function servedBy(path = "/things/1"): Promise<string | null> {
    const res = await fetch(`${proxy.url}${path}`);
    await res.arrayBuffer();
    return res.headers.get("x-served-by");
  }

  beforeAll(async () => {
    const slowOrFast = (name: string) => (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
      const delay = req.url?.includes("slow") ? 1_500 : 0;
      setTimeout(() => res.end(name), delay);
    };
    legacy = await startFixture(slowOrFast("legacy"));
    service = await startFixture(slowOrFast("svc"));
    configPath = `${temp.dir}/routes.config.ts`;
    writeRoutes(0);
    proxy = await startStrangler({ configPath, port: 0, host: "127.0.0.1", adminPort: 0, dataDir: `${temp.dir}/data`, logger: capture.logger });
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), service.close()]);
    temp.remove();
  });

  it("applies a valid edit to new requests within a second, without dropping in-flight ones", async () => {
    expect(await servedBy()).toBe("legacy");
    const inFlight = fetch(`${proxy.url}/things/slow`).then(async (res) => ({ status: res.status, body: await res.text() }));
    await new Promise((r) => setTimeout(r, 100));
    const edited = Date.now();
    writeRoutes(100);
    let now: string | null = null;
    while (Date.now() - edited < 5_000 && (now = await servedBy()) !== "svc") await new Promise((r) => setTimeout(r, 20));
    expect(now).toBe("svc");
    // Generous for a loaded CI machine; the debounce is 100 ms.
    expect(Date.now() - edited).toBeLessThan(2_000);
    expect(await inFlight).toEqual({ status: 200, body: "legacy" });
  });

  it("refuses an invalid edit with the precise message, and the last good table keeps serving", async () => {
    const before = capture.lines().length;
    writeRoutes(140);
    expect(
      await eventually(() => capture.lines().slice(before).some((l) => l.msg === "config reload refused; the last good config keeps serving")),
    ).toBe(true);
    const refusal = capture.lines().slice(before).find((l) => l.msg?.toString().startsWith("config reload refused"));
    expect(refusal?.issues).toEqual(['routes[0] (id "things").rollout.percent: must be between 0 and 100, got 140']);
    expect(await servedBy()).toBe("svc");
  });

  it("refuses a file that does not even evaluate, and recovers on the next good edit", async () => {
    const before = capture.lines().length;
    writeRoutes("oops(");
    expect(await eventually(() => capture.lines().slice(before).some((l) => String(l.msg).startsWith("config reload refused")))).toBe(true);
    expect(await servedBy()).toBe("svc");
    writeRoutes(0);
    expect(await eventually(() => capture.lines().slice(before).some((l) => l.msg === "config reloaded"))).toBe(true);
    expect(await servedBy()).toBe("legacy");
  });

  it("applies a reload's other keys but not those read at start-up, names them in a warning each time, and serves on", async () => {
    const before = capture.lines().length;
    writeRoutes(0, "server: { maxHeaderBytes: 4096, keepAliveTimeoutMs: 30000 }, shadowing: { maxBufferedBytes: 1048576 },");
    const result = await proxy.reload();
    expect(result).toEqual({ applied: true, unapplied: ["server.maxHeaderBytes", "shadowing.maxBufferedBytes"] });
    expect(proxy.state().config.server.keepAliveTimeoutMs).toBe(30_000);
    const warning = capture.lines().slice(before).find((l) => String(l.msg).includes("read at start-up"));
    expect(warning).toMatchObject({ keys: ["server.maxHeaderBytes", "shadowing.maxBufferedBytes"] });
    // A head the new bound would refuse still passes: the listener keeps the bound it started with (16 KiB).
    const res = await fetch(`${proxy.url}/things/1`, { headers: { "x-large": "v".repeat(8_000) } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    // Still unapplied on the next reload, so still said; back to the started values, nothing is.
    expect(await proxy.reload()).toMatchObject({ unapplied: ["server.maxHeaderBytes", "shadowing.maxBufferedBytes"] });
    writeRoutes(0);
    expect(await proxy.reload()).toEqual({ applied: true });
  });
});
