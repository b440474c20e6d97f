import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { startDemoCommand } from "../helpers/demo-command.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("the demo command", () => {
  it("starts the monolith, both services and the proxy, serves through the proxy, and stops cleanly on SIGINT", async () => {
    // The same script `npm run demo` runs, on free ports and a temp data dir.
    const demo = await startDemoCommand();
    const { url: proxyUrl, admin: adminUrl } = demo.nodes[0] as { url: string; admin: string };
    try {
      const product = await fetch(`${proxyUrl}/api/products/p_001`);
      expect(product.headers.get("x-served-by")).toBe("catalog");
      expect(await product.json()).toMatchObject({ id: "p_001" });
      const user = await fetch(`${proxyUrl}/api/users/u_001`);
      expect(user.headers.get("x-served-by")).toBe("legacy");
      expect(await user.json()).toMatchObject({ id: "u_001" });
      expect((await fetch(`${adminUrl}/healthz`)).status).toBe(200);
    } finally {
      expect(await demo.stop(), demo.output()).toBe(0);
    }
    expect(demo.output()).toContain('"msg":"shutting down"');
    // Nothing is left listening.
    await expect(fetch(`${proxyUrl}/api/users/u_001`)).rejects.toThrow();
  });

  it("demo --tls serves HTTPS and HTTP/2 with a throwaway CA it keeps in the data dir; the printed commands work as written", async () => {
    const demo = await startDemoCommand({ tls: true });
    const output = demo.output();
    try {
      expect(output).toMatch(/proxy\s+https:\/\/127\.0\.0\.1:\d+\s+\(HTTPS, HTTP\/2 by ALPN\)/);
      const caFile = `${demo.dataDir}/tls/ca.crt`;
      expect(output).toContain(`CA to trust      ${caFile}`);
      // The first curl line, as printed: HTTP/2, verified against the demo's CA.
      const curlLine = /^ {2}(curl --http2 --cacert \S+ -i \S+\/api\/products\/p_001)/m.exec(output)?.[1];
      expect(curlLine, output).toBeDefined();
      const args = (curlLine as string).split(" ").slice(1).filter((a) => a !== "-i");
      const { stdout } = await promisify(execFile)("curl", [...args, "-sS", "-o", "/dev/null", "-w", "%{http_version} %{http_code}"]);
      expect(stdout).toBe("2 200");
      // The CLI line, with NODE_EXTRA_CA_CERTS as printed.
      const cli = await promisify(execFile)(process.execPath, ["bin/strangler.js", "routes", "--url", (demo.nodes[0] as { admin: string }).admin], { cwd: ROOT, env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile } });
      expect(cli.stdout).toContain("products-list");
    } finally {
      expect(await demo.stop(), demo.output()).toBe(0);
    }
  });

  it("demo:fleet starts three nodes on a throwaway PostgreSQL: a change through one serves on all, traffic spreads, Ctrl-C removes it all", async () => {
    const demo = await startDemoCommand({ fleet: true });
    const { nodes, databaseUrl } = demo;
    try {
      expect(nodes, demo.output()).toHaveLength(3);
      expect(databaseUrl, demo.output()).toBeDefined();
      const [first, , third] = nodes as [{ url: string; admin: string }, unknown, { url: string; admin: string }];
      const fleet = (await (await fetch(`${third.admin}/api/fleet`)).json()) as { store: string; nodes: unknown[] };
      expect(fleet).toMatchObject({ store: "postgres" });
      expect(fleet.nodes).toHaveLength(3);

      const put = await fetch(`${first.admin}/api/routes/products-list/rollout`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ percent: 100, reason: "fleet step" }) });
      expect(put.status).toBe(200);
      const changedAt = Date.now();
      while (((await (await fetch(`${third.admin}/api/routes/products-list`)).json()) as { rollout: { livePercent: number } }).rollout.livePercent !== 100) {
        expect(Date.now() - changedAt, "node 3 follows node 1 within a second").toBeLessThan(1_000);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect((await fetch(`${third.url}/api/products`, { headers: { "x-user-id": "anyone" } })).headers.get("x-served-by")).toBe("catalog");

      // npm run traffic, spread over the three nodes.
      const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/traffic.ts"], { cwd: ROOT, env: { ...process.env, PROXY_URL: nodes.map((n) => n.url).join(","), COUNT: "21" } });
      expect(stdout).toContain(`sent 21 requests to ${nodes.map((n) => n.url).join(", ")}`);
      expect(stdout).not.toContain("failed");
    } finally {
      expect(await demo.stop(), demo.output()).toBe(0);
    }
    // The cluster is gone with the demo.
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2_000 });
    await expect(client.connect()).rejects.toThrow();
  }, 90_000);
});
