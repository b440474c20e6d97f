import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.ts";
import { loadConfigFile } from "../../src/config/load-config.ts";
import { runMain, spawnProxy } from "../helpers/child-proxy.ts";
import { startFixture } from "../helpers/fixture-server.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

describe("loading routes.config.ts", () => {
  const temp = makeTempDir();
  afterAll(() => temp.remove());

  function file(name: string, text: string): string {
    const path = join(temp.dir, name);
    writeFileSync(path, text);
    return path;
  }

  async function issuesOf(path: string): Promise<readonly string[]> {
    const error = await loadConfigFile(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }

  it("loads TypeScript with imports and types, no build step", async () => {
    file("backends.ts", `export const legacyUrl: string = "http://127.0.0.1:3001";\n`);
    const path = file(
      "good.config.ts",
      `import { defineConfig } from ${JSON.stringify(join(process.cwd(), "src/config/define-config.ts"))};
import { legacyUrl } from "./backends.ts";
interface Note { text: string }
const note: Note = { text: "typed" };
export default defineConfig({ backends: { legacy: { url: legacyUrl } }, routes: [] });
`,
    );
    const config = await loadConfigFile(path);
    expect(config.backends.legacy?.url).toBe("http://127.0.0.1:3001");
  });

  it("the shipped routes.config.ts is valid", async () => {
    const config = await loadConfigFile(join(process.cwd(), "routes.config.ts"));
    expect(config.routes.length).toBeGreaterThan(0);
  });

  it("names the route, the field and the problem", async () => {
    const path = file(
      "bad.config.ts",
      `export default { backends: { legacy: { url: "http://127.0.0.1:1" }, svc: { url: "http://127.0.0.1:2" } },
  routes: [
    { id: "a", match: { path: "/a" }, target: "svc", rollout: { percent: 1 } },
    { id: "a", match: { path: "/b" }, target: "svc", rollout: { percent: 1 } },
    { id: "c", match: { path: "/c" }, target: "nowhere", rollout: { percent: 1 } },
    { id: "d", match: { path: "/d" }, target: "svc", rollout: { percent: 140 } },
  ] };
`,
    );
    expect([...(await issuesOf(path))].sort()).toEqual([
      'routes[1] (id "a").id: duplicate route id "a" (also routes[0])',
      'routes[2] (id "c").target: unknown backend "nowhere"; declared backends: legacy, svc',
      'routes[3] (id "d").rollout.percent: must be between 0 and 100, got 140',
    ]);
  });

  it("a file that does not evaluate, or is missing, is a clear error too", async () => {
    expect((await issuesOf(file("syntax.config.ts", "export default {")))[0]).toMatch(/^could not evaluate the file: /);
    expect(await issuesOf(join(temp.dir, "missing.config.ts"))).toEqual([
      `file not found: ${join(temp.dir, "missing.config.ts")} (set --config or CONFIG to the routes file)`,
    ]);
  });

  it("an invalid file stops start-up with the message, exit code 1", async () => {
    const path = file("stop.config.ts", `export default { backends: { legacy: { url: "http://127.0.0.1:1" } }, routes: [{ id: "x", match: { path: "/x" }, target: "legacy", rollout: { percent: 101 } }] };\n`);
    const result = await runMain(["--config", path], { PORT: "0", ADMIN_PORT: "0" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('routes[0] (id "x").rollout.percent: must be between 0 and 100, got 101');
  });

  it("a valid file starts the proxy as its own process, with /healthz on the admin port", async () => {
    const backend = await startFixture((_req, res) => res.end("hello"));
    const proxy = await spawnProxy(file("run.config.ts", `export default { backends: { legacy: { url: ${JSON.stringify(backend.url)} } } };\n`));
    try {
      expect(await (await fetch(`${proxy.url}/x`)).text()).toBe("hello");
      const health = await fetch(`${proxy.adminUrl}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
    } finally {
      await proxy.stop();
      await backend.close();
    }
    expect(proxy.process.exitCode).toBe(0);
  });
});
