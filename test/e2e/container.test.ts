import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOKEN = "container-token-0123456789";

/** The Dockerfile as data: the build stage's COPY and RUN steps; the final stage's ENV, copies, CMD and HEALTHCHECK. */
function readDockerfile() {
  const text = readFileSync(join(ROOT, "Dockerfile"), "utf8").replace(/\\\n\s*/g, " ");
  const boundary = text.lastIndexOf("\nFROM ");
  const [buildStage, final] = [text.slice(text.indexOf("\nFROM "), boundary), text.slice(boundary)];
  const lines = (stage: string, starts: string) => stage.split("\n").filter((l) => l.startsWith(starts));
  const env: Record<string, string> = {};
  for (const line of lines(final, "ENV ")) {
    for (const [, key, value] of line.slice(4).matchAll(/(\w+)=(\S+)/g)) env[key as string] = value as string;
  }
  const json = (starts: string) => JSON.parse(/\[.*\]/.exec(final.split("\n").find((l) => l.startsWith(starts)) as string)?.[0] as string) as string[];
  /** A COPY line as [sources, destination]. */
  const copy = (line: string) => {
    const words = line.slice(5).trim().split(/\s+/).filter((w) => !w.startsWith("--"));
    return { sources: words.slice(0, -1), destination: words.at(-1) as string };
  };
  return {
    env,
    cmd: json("CMD ["),
    healthcheck: json("HEALTHCHECK "),
    exposed: /\nEXPOSE ([\d ]+)/.exec(final)?.[1]?.trim().split(/\s+/),
    buildCopies: lines(buildStage, "COPY ").map(copy),
    // The system packages are this machine's (ensure-test-tools.sh); every other step runs as written.
    buildRuns: lines(buildStage, "RUN ").map((l) => l.slice(4).trim()).filter((l) => !l.startsWith("apt-get")),
    copiesFromBuild: lines(final, "COPY --from=build ").map(copy),
    copies: lines(final, "COPY ").filter((l) => !l.includes("--from")).map(copy),
  };
}

/** Copies each source of a Dockerfile COPY from `from` into `to` (a destination ending in / keeps the source's name). */
function dockerCopy(from: string, to: string, step: { sources: string[]; destination: string }): void {
  for (const source of step.sources) {
    const sourcePath = join(from, source.replace(/^\/app\//, ""));
    const into = join(to, step.destination.replace(/^\.\/?/, ""));
    const target = step.destination.endsWith("/") || step.sources.length > 1 ? join(into, basename(source)) : into;
    cpSync(sourcePath, target, { recursive: true });
  }
}

/**
 * No Docker engine runs here, so this test runs what the image runs: the build stage in a directory of its
 * own (its COPY steps, then its RUN steps but the system packages: npm ci, the build, the prune), the final
 * stage's copies from it and from the repository into another, then the final stage's CMD with its ENV
 * (ports 0 instead of 8080/9901, a temp data dir), and its HEALTHCHECK command.
 */
describe("the container image, run as the Dockerfile runs it", () => {
  const temp = makeTempDir();
  const buildDir = join(temp.dir, "build");
  const app = join(temp.dir, "app");
  const docker = readDockerfile();
  let backend: Fixture;

  beforeAll(async () => {
    backend = await startFixture((_req, res) => res.end("ok"));
    mkdirSync(buildDir, { recursive: true });
    for (const step of docker.buildCopies) dockerCopy(ROOT, buildDir, step);
    // At the lowest CPU priority: the compile must not starve the tests that measure latency beside it.
    for (const run of docker.buildRuns) {
      await promisify(execFile)("nice", ["-n", "19", "sh", "-c", run], { cwd: buildDir, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_prefer_offline: "true" } });
    }
    for (const step of docker.copiesFromBuild) dockerCopy(buildDir, app, step);
    for (const step of docker.copies) dockerCopy(ROOT, app, step);
  }, 600_000);
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

  it("runs compiled JavaScript on production dependencies alone: no TypeScript sources but the config's helper, no tsx", () => {
    expect(docker.cmd).toEqual(["node", "dist/main.js"]);
    expect(existsSync(join(app, "dist/main.js"))).toBe(true);
    expect(existsSync(join(app, "dist/shadow/compare-worker.js"))).toBe(true);
    expect(existsSync(join(app, "dist/admin/dashboard/dashboard.js"))).toBe(true);
    expect(existsSync(join(app, "node_modules/tsx"))).toBe(false);
    expect(existsSync(join(app, "node_modules/typescript"))).toBe(false);
    expect(readdirSync(join(app, "src"), { recursive: true }).sort()).toEqual(["config", join("config", "define-config.ts")]);
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
