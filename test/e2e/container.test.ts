import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOKEN = "container-token-0123456789";

/** The Dockerfile's final stage as data: its ENV, the files it copies, its CMD and HEALTHCHECK. */
function readDockerfile() {
  const text = readFileSync(join(ROOT, "Dockerfile"), "utf8").replace(/\\\n\s*/g, " ");
  const final = text.slice(text.lastIndexOf("\nFROM "));
  const env: Record<string, string> = {};
  for (const line of final.split("\n").filter((l) => l.startsWith("ENV "))) {
    for (const [, key, value] of line.slice(4).matchAll(/(\w+)=(\S+)/g)) env[key as string] = value as string;
  }
  const json = (starts: string) => JSON.parse(/\[.*\]/.exec(final.split("\n").find((l) => l.startsWith(starts)) as string)?.[0] as string) as string[];
  const copies = final.split("\n").filter((l) => l.startsWith("COPY ") && !l.includes("--from")).flatMap((l) => l.slice(5).trim().split(/\s+/).slice(0, -1));
  return { env, cmd: json("CMD ["), healthcheck: json("HEALTHCHECK "), exposed: /\nEXPOSE ([\d ]+)/.exec(final)?.[1]?.trim().split(/\s+/), copies };
}

/**
 * No Docker engine runs here, so this test runs what the image runs: the build stage's `npm ci --omit=dev`
 * in a copy of the files the Dockerfile copies, then the final stage's CMD with its ENV (ports 0 instead
 * of 8080/9901, a temp data dir), and its HEALTHCHECK command.
 */
describe("the container image, run as the Dockerfile runs it", () => {
  const temp = makeTempDir();
  const app = join(temp.dir, "app");
  const docker = readDockerfile();
  let backend: Fixture;

  beforeAll(async () => {
    backend = await startFixture((_req, res) => res.end("ok"));
    for (const file of ["package.json", "package-lock.json", ".npmrc", ...docker.copies]) cpSync(join(ROOT, file), join(app, file), { recursive: true });
    // The build stage: production dependencies only (better-sqlite3 compiles here, as in the image). At the
    // lowest CPU priority: the compile must not starve the tests that measure latency beside it.
    await promisify(execFile)("nice", ["-n", "19", "npm", "ci", "--omit=dev", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: app, maxBuffer: 16 * 1024 * 1024 });
  }, 300_000);
  afterAll(async () => {
    await backend?.close();
    temp.remove();
  });

  const start = (extra: Record<string, string>) => {
    const config = writeConfig(temp.dir, { backends: { legacy: { url: backend.url } } }, "image.config.ts");
    const child = spawn(docker.cmd[0] as string, docker.cmd.slice(1), {
      cwd: app,
      // The image's environment, not this one's: only PATH and HOME come along.
      env: { PATH: process.env.PATH ?? "", HOME: temp.dir, ...docker.env, PORT: "0", ADMIN_PORT: "0", DATA_DIR: join(temp.dir, "data"), CONFIG: config, ...extra },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    return { child, output: () => output };
  };

  it("listens for the admin API on every interface and exposes its port, so it refuses to start without a token", async () => {
    expect(docker.env.ADMIN_HOST).toBe("0.0.0.0");
    expect(docker.exposed).toEqual([docker.env.PORT, docker.env.ADMIN_PORT]);
    const { child, output } = start({});
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(1);
    expect(output()).toContain("set STRANGLER_ADMIN_TOKEN");
  });

  it("starts from production dependencies alone; probes are open, the API needs the token; the HEALTHCHECK passes; SIGTERM exits 0", async () => {
    const { child, output } = start({ STRANGLER_ADMIN_TOKEN: TOKEN });
    try {
      let listening: { port: number; adminPort: number } | undefined;
      for (let waited = 0; !listening && waited < 30_000 && child.exitCode === null; waited += 50) {
        const line = output().split("\n").find((l) => l.includes('"proxy listening"'));
        if (line) listening = JSON.parse(line) as { port: number; adminPort: number };
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(listening, output()).toBeDefined();
      const admin = `http://127.0.0.1:${listening?.adminPort}`;
      expect((await fetch(`${admin}/healthz`)).status).toBe(200);
      expect((await fetch(`${admin}/readyz`)).status).toBe(200);
      expect((await fetch(`${admin}/api/routes`)).status).toBe(401);
      expect((await fetch(`${admin}/api/routes`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      expect(await (await fetch(`http://127.0.0.1:${listening?.port}/x`)).text()).toBe("ok");
      const health = spawn(docker.healthcheck[0] as string, docker.healthcheck.slice(1), { env: { PATH: process.env.PATH ?? "", ADMIN_PORT: String(listening?.adminPort) } });
      expect((await once(health, "exit"))[0]).toBe(0);
    } finally {
      const exited = child.exitCode === null ? once(child, "exit") : Promise.resolve([child.exitCode]);
      child.kill("SIGTERM");
      expect((await exited)[0]).toBe(0);
    }
  });
});
