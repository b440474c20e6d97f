import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../helpers/temp-dir.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("the demo command", () => {
  const temp = makeTempDir();
  afterAll(() => temp.remove());

  it("starts the monolith, both services and the proxy, serves through the proxy, and stops cleanly on SIGINT", async () => {
    // The same script `npm run demo` runs, on free ports and a temp data dir.
    const demo = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts"], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: temp.dir, PORT: "0", ADMIN_PORT: "0", LEGACY_PORT: "0", CATALOG_PORT: "0", ORDERS_PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let proxyUrl: string | undefined;
    demo.stdout.on("data", (d: Buffer) => (output += d.toString()));
    demo.stderr.on("data", (d: Buffer) => (output += d.toString()));
    try {
      const deadline = Date.now() + 30_000;
      while (!/admin\s+http:\/\/127\.0\.0\.1:\d+\/api\/routes/.test(output) && Date.now() < deadline && demo.exitCode === null) {
        await new Promise((r) => setTimeout(r, 50));
      }
      proxyUrl = /proxy\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      const adminUrl = /admin\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      expect(proxyUrl, output).toBeDefined();

      const product = await fetch(`${proxyUrl}/api/products/p_001`);
      expect(product.headers.get("x-served-by")).toBe("catalog");
      expect(await product.json()).toMatchObject({ id: "p_001" });
      const user = await fetch(`${proxyUrl}/api/users/u_001`);
      expect(user.headers.get("x-served-by")).toBe("legacy");
      expect(await user.json()).toMatchObject({ id: "u_001" });
      expect((await fetch(`${adminUrl}/healthz`)).status).toBe(200);
    } finally {
      const exited = demo.exitCode !== null || demo.signalCode !== null ? Promise.resolve([demo.exitCode]) : once(demo, "exit");
      demo.kill("SIGINT");
      const [code] = (await exited) as [number | null];
      expect(code, output).toBe(0);
    }
    expect(output).toContain('"msg":"shutting down"');
    // Nothing is left listening.
    await expect(fetch(`${proxyUrl}/api/users/u_001`)).rejects.toThrow();
  });
});
