/**
 * `npm run bench:instructions`: instructions per request, counted by valgrind's callgrind, for bare
 * undici, ours pass-through and ours shadow 100% (the same processes and route table as `npm run bench`).
 *
 * Why: on these shared 2-core machines the same setup's CPU time per request moves by ±40% from one 2 s
 * slice to the next, so a step worth 5–20% can hide in `npm run bench` for days. Callgrind counts the
 * instructions a process executes, whatever else the machine does: two runs of the same code agree to
 * within a fraction of a percent. It does not see what the kernel does for a system call, nor memory
 * stalls, so it complements the time bench (which stays the judge of the targets) and does not replace it.
 *
 * For each setup: its process is started under callgrind (slow: a minute or two to start), warmed up
 * with --warmup requests, its counters zeroed, then --requests requests are sent (4 connections) and the
 * deferred work (comparisons, evidence) is given 1.5 s; the counters are dumped: their count over the
 * requests is the figure, timers of the window included (evidence flushes, heartbeats). Then the same
 * length of time with no request is counted and printed beside it, not subtracted: right after the load
 * it still holds deferred work and collections (1 to 10 M instructions a second), so subtracting it made
 * the figure move by 15%, where the window's own count repeats to within 2%.
 * Needs Debian's `valgrind` (apt-get install -y valgrind); nothing else in the repo does.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { startProcess } from "./processes.ts";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "3000" },
    warmup: { type: "string", default: "3000" },
    only: { type: "string" },
  },
});
const REQUESTS = Number(values.requests);
const WARMUP = Number(values.warmup);
// valgrind names its control pipes after $HOST; callgrind_control must see the same value to find them.
const HOST_ENV = { HOST: "127.0.0.1" };

if (spawnSync("valgrind", ["--version"]).status !== 0) {
  console.error("valgrind is not installed: apt-get install -y valgrind (Debian's package) to count instructions");
  process.exit(1);
}

interface Setup {
  readonly name: string;
  readonly args: (backendPort: number) => string[];
  readonly env: (backendPort: number) => Record<string, string>;
  readonly ready: (line: Record<string, unknown>) => boolean;
}

const tsx = ["--import", "tsx"];
const ours = (shadow: boolean): Setup["env"] => (port) => ({
  PORT: "0",
  ADMIN_PORT: "0",
  DATA_DIR: mkdtempSync(join(tmpdir(), "strangler-instructions-")),
  LOG_LEVEL: "info",
  LEGACY_URL: `http://127.0.0.1:${port}`,
  TARGET_URL: `http://127.0.0.1:${port}`,
  ...(shadow ? { BENCH_SHADOW: "1" } : {}),
});
const isProxy = (line: Record<string, unknown>) => line.msg === "proxy listening";
const SETUPS: Setup[] = [
  { name: "bare undici", args: () => [...tsx, "bench/bare-undici.ts"], env: (port) => ({ TARGET: `http://127.0.0.1:${port}` }), ready: (line) => typeof line.port === "number" },
  { name: "ours pass-through", args: () => [...tsx, "src/main.ts", "--config", "bench/routes.bench.ts"], env: ours(false), ready: isProxy },
  { name: "ours shadow 100%", args: () => [...tsx, "src/main.ts", "--config", "bench/routes.bench.ts"], env: ours(true), ready: isProxy },
];
const chosen = values.only ? SETUPS.filter((s) => (values.only as string).split(",").map((x) => x.trim()).includes(s.name)) : SETUPS;

/** Startup under valgrind is slow (tsx compiles every module under it): a minute or two, more on a busy machine. */
const START_UNDER_CALLGRIND_MS = 20 * 60_000;

function callgrindControl(pid: number, ...args: string[]): void {
  spawnSync("callgrind_control", [...args, String(pid)], { env: { ...process.env, ...HOST_ENV }, stdio: "ignore" });
}

/** Zeroes the counters, runs `during`, waits for the deferred work, dumps; returns the dump's instruction count and the window's length. */
async function countWindow(pid: number, outFile: string, during: () => Promise<void>): Promise<{ instructions: number; ms: number }> {
  const before = new Set(readdirSync(join(outFile, "..")));
  callgrindControl(pid, "--zero");
  const started = performance.now();
  await during();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const ms = performance.now() - started;
  callgrindControl(pid, "--dump");
  const dump = readdirSync(join(outFile, "..")).find((f) => !before.has(f) && f.startsWith(`${outFile.split("/").pop()}.`));
  if (!dump) throw new Error("callgrind wrote no dump: is callgrind_control reaching the process?");
  const summary = /^summary: (\d+)/m.exec(readFileSync(join(outFile, "..", dump), "utf8"));
  return { instructions: Number(summary?.[1] ?? NaN), ms };
}

async function load(pool: Pool, n: number): Promise<void> {
  let sent = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (sent < n) {
        sent++;
        const res = await pool.request({ path: "/bench/items/1", method: "GET", headers: { "x-user-id": "bench-user" } });
        await res.body.dump();
      }
    }),
  );
}

const dir = mkdtempSync(join(tmpdir(), "strangler-callgrind-"));
const backend = await startProcess(process.execPath, [...tsx, "bench/backend.ts"], {}, (line) => typeof line.port === "number");
const results: { name: string; perRequest: number; idlePerSecond: number }[] = [];
try {
  for (const setup of chosen) {
    const outFile = join(dir, setup.name.replace(/\W+/g, "-"));
    console.log(`${setup.name}: starting under callgrind…`);
    const backendPort = backend.ready.port as number;
    const proxy = await startProcess("valgrind", ["--tool=callgrind", `--callgrind-out-file=${outFile}`, process.execPath, ...setup.args(backendPort)], { ...setup.env(backendPort), ...HOST_ENV }, setup.ready, START_UNDER_CALLGRIND_MS);
    const pid = proxy.child.pid as number;
    const pool = new Pool(`http://127.0.0.1:${proxy.ready.port as number}`, { connections: 4 });
    try {
      await load(pool, WARMUP);
      const loaded = await countWindow(pid, outFile, () => load(pool, REQUESTS));
      const idle = await countWindow(pid, outFile, () => new Promise((resolve) => setTimeout(resolve, loaded.ms - 1_500)));
      const perRequest = loaded.instructions / REQUESTS;
      const idlePerSecond = (idle.instructions / idle.ms) * 1000;
      results.push({ name: setup.name, perRequest, idlePerSecond });
      console.log(`${setup.name}: ${Math.round(perRequest)} instructions per request (window ${Math.round(loaded.ms)} ms, ${Math.round(loaded.instructions / 1e6)} M; the same time idle after it: ${(idlePerSecond / 1e6).toFixed(1)} M/s)`);
    } finally {
      await pool.close();
      await proxy.stop();
    }
  }
} finally {
  await backend.stop();
  rmSync(dir, { recursive: true, force: true });
}

const by = (name: string) => results.find((r) => r.name === name)?.perRequest;
const bare = by("bare undici");
const pass = by("ours pass-through");
console.log("\n| setup | instructions / request | × bare undici | idle after, M/s |\n| --- | --- | --- | --- |");
for (const r of results) console.log(`| ${r.name} | ${Math.round(r.perRequest)} | ${bare ? (r.perRequest / bare).toFixed(2) : "-"} | ${(r.idlePerSecond / 1e6).toFixed(1)} |`);
const shadow = by("ours shadow 100%");
if (shadow && pass) console.log(`\na shadowed request / a pass-through one: ${(shadow / pass).toFixed(2)} × in instructions`);
