import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { runMain } from "../helpers/child-proxy.ts";
import { startFixture } from "../helpers/fixture-server.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The server's own command line (`npm start -- …`) and `npm run traffic`, as an operator meets them. */
describe("the proxy's command line and the traffic script", () => {
  it("npm start -- --help prints the usage and exits 0; an unknown flag is one line and exit 2, never a stack trace", async () => {
    const help = await runMain(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm start -- \[--config routes\.config\.ts\]/);
    const version = await runMain(["--version"]);
    expect(version.stdout.trim()).toBe("0.1.0");
    const bogus = await runMain(["--bogus"]);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr.trim()).toBe("strangler-fig: Unknown option '--bogus' (--help for usage)");
  });

  const traffic = (env: Record<string, string>) =>
    promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/traffic.ts"], { cwd: ROOT, env: { ...process.env, PROXY_URL: "", ...env } }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );

  it("npm run traffic sends to PORT as the demo does, and exits 1 when requests get no answer", async () => {
    const proxyLike = await startFixture((_req, res) => res.writeHead(200, { "x-served-by": "legacy" }).end("{}"));
    try {
      const ok = await traffic({ PORT: String(proxyLike.port), COUNT: "5" });
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain(`sent 5 requests to http://127.0.0.1:${proxyLike.port}: 5 × 200 legacy`);
    } finally {
      await proxyLike.close();
    }
    const down = await traffic({ PORT: String(proxyLike.port), COUNT: "3" });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("3 of 3 requests got no answer");
  });
});
