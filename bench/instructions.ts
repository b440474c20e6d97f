/**
 * `npm run bench:instructions`: instructions per request, counted by valgrind's callgrind, for the proxy
 * as production runs it (compiled by `npm run build`, no loader) beside its baselines, on Node 24 and on
 * the Node running the bench (20 on these machines) in one run, and the CPU targets judged PASS or FAIL.
 *
 * Why instructions: on these shared 2-core machines one program's CPU time against another's moves more
 * between runs than the targets' margins. Callgrind counts the instructions a process executes, whatever
 * else the machine does: runs of the same code agree to ±0.2% (nginx) and ±3% (bare undici). It does not see what
 * the kernel does for a system call, nor memory stalls: the time bench (`npm run bench`) stays the judge
 * of throughput, latency and memory.
 *
 * The setups: bare undici (a 30-line Pool.stream forwarder, the floor a Node team would write by hand),
 * ours pass-through (60 routes, flags, metrics, rollout 50%), ours with an access log line per request,
 * ours shadowing every request (the two backends agree), and ours shadowing a service whose every answer
 * differs; and nginx (`daemon off; master_process off;`, one process), the C floor, counted once.
 *
 * For each setup: its process starts under callgrind (--separate-threads=yes) with the instrumentation off
 * (valgrind then only translates, about a tenth of the time), is warmed up with --warmup requests (15000:
 * while V8 tiers up, 1000-request batches swing from 150k to 780k instructions a request, and settle by
 * 13–15k), the instrumentation is turned on, two batches of 1000 are counted and printed (informational:
 * they differ by up to ±15%, as one holds a collection cycle and the other not); its counters are
 * zeroed, --requests requests are sent (4 connections), the deferred work (comparisons, evidence) is
 * given 1.5 s, and the counters are dumped.
 *
 * After the warm-up, the idle process's main thread is counted for 5 s (3 s after it): its timers
 * (heartbeats, the guards' evaluations, flushes with nothing to flush) run by the clock, not by the
 * requests, so a window
 * that lasts longer (a busy machine, a slower setup) holds more of them. That base, at the idle rate over
 * the window's length, is taken off (both figures are printed). What timers do for the requests (writing
 * their evidence, the map's deltas) runs above the base and stays counted.
 *
 * Every Node setup runs with V8's compilers on the main thread (--no-concurrent-recompilation
 * --no-concurrent-sparkplug); its garbage collector keeps its helper threads, as in production. Valgrind
 * runs one thread at a time, so with background compilation, when a hot function got optimised followed
 * how valgrind interleaved the threads, which followed whatever else the machine ran: the same
 * pass-through counted 186k, 212k and 255k a request on the main thread in runs beside other work. With
 * the compilers on the main thread, the moment code is optimised depends only on the work done, and
 * their cost falls in the warm-up. (V8's --single-threaded, collector included, was tried: its
 * collections on one thread cost the proxy, whose heap is larger, twice what the helpers do, so it
 * measured a different program.)
 *
 * The figure judged is the main thread's instructions over the requests, net of its idle base: every
 * request's JavaScript, its parsing and its system calls' user-space side run there. The helper threads
 * (the collector's marking and sweeping) are printed apart, not judged: what they count depends on how
 * valgrind interleaves them (on a busy run they counted 1.7 × the main thread; alone, a third of it).
 *
 *   npm run bench:instructions -- [--requests 3000] [--warmup 15000]
 *                                 [--nodes 24,20] [--only "ours pass-through,bare undici"] [--keep DIR]
 *
 * --keep DIR keeps each measured window's callgrind files there (one per thread), for callgrind_annotate.
 *
 * Needs Debian's valgrind and nginx: `npm run bench:instructions` installs them when missing
 * (scripts/ensure-bench-tools.sh). Node 24 comes from the npm registry (bench/runtimes.ts).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { ROOT, startProcess, type Started } from "./processes.ts";
import { prepareRuntime, type Runtime } from "./runtimes.ts";
import { NGINX_BINARY, startNginx } from "./nginx.ts";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "3000" },
    warmup: { type: "string", default: "15000" },
    nodes: { type: "string" },
    only: { type: "string" },
    keep: { type: "string" },
  },
});
const REQUESTS = Number(values.requests);
const WARMUP = Number(values.warmup);
/** After the warm-up, two counted batches of this many requests show whether it was warm (printed). */
const CHECK_BATCH = 1_000;
const ownMajor = Number(process.versions.node.split(".")[0]);
const MAJORS = (values.nodes ?? [24, ownMajor].join(",")).split(",").map(Number).filter((major, i, all) => all.indexOf(major) === i);
const chosen = (name: string) => !values.only || values.only.split(",").map((x) => x.trim()).includes(name);
/** Deferred work after the last answer (comparisons, evidence writes) is given this long inside the window. */
const SETTLE_MS = 1_500;
/** The idle base is counted over this long, this long after the warm-up. */
const IDLE_MS = 5_000;
const IDLE_PAUSE_MS = 3_000;
/** Startup under valgrind is slow: seconds for the compiled proxy, more on a busy machine. */
const START_UNDER_CALLGRIND_MS = 5 * 60_000;
// valgrind names its control pipes after $HOST; callgrind_control must see the same value to find them.
const HOST_ENV = { HOST: "127.0.0.1" };

// `npm run bench:instructions` installs both first (scripts/ensure-bench-tools.sh); run directly, say what is missing.
if (spawnSync("valgrind", ["--version"]).status !== 0) {
  console.error("valgrind is not installed: npm run bench:instructions installs it (scripts/ensure-bench-tools.sh), or apt-get install -y valgrind");
  process.exit(1);
}

interface Counted {
  readonly setup: string;
  readonly runtime: string;
  /** The main thread's instructions a request, net of the idle process's over the window: the figure judged. */
  readonly perRequest: number;
  /** The same before the idle base is taken off. */
  readonly grossPerRequest: number;
  /** The idle process's main thread, instructions a second (its timers: heartbeats, guards, flushes). */
  readonly idlePerSecond: number;
  /** The helper threads' instructions a request (the collector's; not judged). */
  readonly othersPerRequest: number;
  readonly warmup: number;
}

/** One setup to count: how to start it under callgrind on a runtime, and its ready signal. */
interface Setup {
  readonly name: string;
  /** The command and arguments that callgrind runs, and how to know it is ready. */
  start(runtime: Runtime, valgrind: string[], backends: Backends): Promise<{ port: number; proc: Started }>;
}

interface Backends {
  readonly plain: number;
  readonly divergent: number;
}

const oursEnv = (backend: number, extra: Record<string, string>) => ({
  PORT: "0",
  ADMIN_PORT: "0",
  DATA_DIR: mkdtempSync(join(tmpdir(), "strangler-instructions-")),
  LOG_LEVEL: "info",
  LEGACY_URL: `http://127.0.0.1:${backend}`,
  TARGET_URL: `http://127.0.0.1:${backend}`,
  ...extra,
});
const isProxy = (line: Record<string, unknown>) => line.msg === "proxy listening";
/** V8's compilers on the main thread (see above); the collector keeps its helpers. */
const V8_COMPILE_ON_MAIN = ["--no-concurrent-recompilation", "--no-concurrent-sparkplug"];
const ours =
  (extra: Record<string, string>, target: (b: Backends) => number = (b) => b.plain): Setup["start"] =>
  async (runtime, valgrind, backends) => {
    const env = { ...oursEnv(backends.plain, extra), TARGET_URL: `http://127.0.0.1:${target(backends)}`, ...HOST_ENV };
    const proc = await startProcess(valgrind[0] as string, [...valgrind.slice(1), runtime.node, ...V8_COMPILE_ON_MAIN, join(runtime.app, "dist/main.js"), "--config", "bench/routes.bench.ts"], env, isProxy, START_UNDER_CALLGRIND_MS);
    return { port: proc.ready.port as number, proc };
  };

const NODE_SETUPS: Setup[] = [
  {
    name: "bare undici",
    async start(runtime, valgrind, backends) {
      const env = { TARGET: `http://127.0.0.1:${backends.plain}`, ...HOST_ENV };
      const proc = await startProcess(valgrind[0] as string, [...valgrind.slice(1), runtime.node, ...V8_COMPILE_ON_MAIN, join(runtime.app, "bench/bare-undici.js")], env, (line) => typeof line.port === "number", START_UNDER_CALLGRIND_MS);
      return { port: proc.ready.port as number, proc };
    },
  },
  { name: "ours pass-through", start: ours({}) },
  { name: "ours access log 100%", start: ours({ BENCH_ACCESS_LOG: "1" }) },
  { name: "ours shadow 100%", start: ours({ BENCH_SHADOW: "1" }) },
  { name: "ours shadow diverging", start: ours({ BENCH_SHADOW: "1" }, (b) => b.divergent) },
];

/** nginx as one process (no master, no daemon) proxying with upstream keep-alive, as `npm run bench` runs it. */
const NGINX: Setup = {
  name: "nginx",
  start: (_runtime, valgrind, backends) =>
    startNginx({ backendPort: backends.plain, singleProcess: true, wrapper: valgrind, env: HOST_ENV, startTimeoutMs: START_UNDER_CALLGRIND_MS }),
};

function callgrindControl(pid: number, ...args: string[]): void {
  spawnSync("callgrind_control", [...args, String(pid)], { env: { ...process.env, ...HOST_ENV }, stdio: "ignore" });
}

/** Zeroes the counters, runs `during`, dumps; returns the dump's instructions, all threads and the main one's. */
async function countWindow(pid: number, outFile: string, during: () => Promise<void>, keepAs?: string): Promise<{ all: number; main: number; ms: number }> {
  const dir = join(outFile, "..");
  const before = new Set(readdirSync(dir));
  callgrindControl(pid, "--zero");
  const started = performance.now();
  await during();
  const ms = performance.now() - started;
  callgrindControl(pid, "--dump");
  const prefix = `${outFile.split("/").pop()}.`;
  const dumps = readdirSync(dir).filter((f) => !before.has(f) && f.startsWith(prefix));
  if (dumps.length === 0) throw new Error("callgrind wrote no dump: is callgrind_control reaching the process?");
  let all = 0;
  let main = 0;
  for (const dump of dumps) {
    const text = readFileSync(join(dir, dump), "utf8");
    const count = Number(/^summary: (\d+)/m.exec(text)?.[1] ?? 0);
    all += count;
    if (/^thread: 1$/m.test(text)) main += count;
    if (keepAs) renameSync(join(dir, dump), `${keepAs}.thread-${/^thread: (\d+)$/m.exec(text)?.[1] ?? "?"}.callgrind`);
    else rmSync(join(dir, dump));
  }
  return { all, main, ms };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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

async function count(setup: Setup, runtime: Runtime, backends: Backends, dir: string): Promise<Counted> {
  const label = `${setup.name} (${setup === NGINX ? "C" : runtime.label})`;
  const outFile = join(dir, label.replace(/\W+/g, "-"));
  console.log(`${label}: starting under callgrind…`);
  const valgrind = ["valgrind", "--tool=callgrind", "--separate-threads=yes", "--instr-atstart=no", `--callgrind-out-file=${outFile}`];
  const { port, proc } = await setup.start(runtime, valgrind, backends);
  const pid = proc.child.pid as number;
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 4 });
  try {
    // Warmed up with callgrind's instrumentation off (valgrind only translates: a tenth of the time), then on.
    await load(pool, WARMUP);
    callgrindControl(pid, "--instr=on");
    const batches: number[] = [];
    for (let i = 0; i < 2; i++) batches.push((await countWindow(pid, outFile, () => load(pool, CHECK_BATCH))).main / CHECK_BATCH);
    const [first, second] = batches as [number, number];
    // Informational: a batch of 1000 holds a whole young-generation cycle or not, so two of them differ by
    // up to ±15% at the same tier; the window's 3000 even that out.
    console.log(`${label}: after ${WARMUP} warm-up requests, two batches of ${CHECK_BATCH}: ${Math.round(first)} and ${Math.round(second)} instructions a request on the main thread (${((second / first - 1) * 100).toFixed(0)}%)`);
    // The idle base: what the main thread runs with no request (its timers), once the warm-up's deferred
    // work is done.
    await sleep(IDLE_PAUSE_MS);
    const idle = await countWindow(pid, outFile, () => sleep(IDLE_MS));
    const idlePerMs = idle.main / idle.ms;
    const keepAs = values.keep ? join(values.keep, label.replace(/\W+/g, "-")) : undefined;
    const loaded = await countWindow(
      pid,
      outFile,
      async () => {
        await load(pool, REQUESTS);
        await sleep(SETTLE_MS);
      },
      keepAs,
    );
    const result = {
      setup: setup.name,
      runtime: setup === NGINX ? "C" : runtime.label,
      perRequest: (loaded.main - idlePerMs * loaded.ms) / REQUESTS,
      grossPerRequest: loaded.main / REQUESTS,
      idlePerSecond: idlePerMs * 1000,
      othersPerRequest: (loaded.all - loaded.main) / REQUESTS,
      warmup: WARMUP + 2 * CHECK_BATCH,
    };
    console.log(
      `${label}: ${Math.round(result.perRequest)} instructions a request on the main thread net of its idle base (${Math.round(result.grossPerRequest)} gross; idle ${(result.idlePerSecond / 1e6).toFixed(2)} M/s over the ${Math.round(loaded.ms)} ms window; helper threads ${Math.round(result.othersPerRequest)} more a request)`,
    );
    return result;
  } finally {
    await pool.close();
    await proc.stop();
  }
}

const runtimes = MAJORS.map((major) => prepareRuntime(major));
const dir = mkdtempSync(join(tmpdir(), "strangler-callgrind-"));
const tsx = ["--import", "tsx"];
const plain = await startProcess(process.execPath, [...tsx, "bench/backend.ts"], {}, (line) => typeof line.port === "number");
const divergent = await startProcess(process.execPath, [...tsx, "bench/backend.ts"], { BENCH_VARIANT: "diverge" }, (line) => typeof line.port === "number");
const backends: Backends = { plain: plain.ready.port as number, divergent: divergent.ready.port as number };
const results: Counted[] = [];
try {
  if (chosen("nginx") && NGINX_BINARY) results.push(await count(NGINX, runtimes[0] as Runtime, backends, dir));
  for (const runtime of runtimes) {
    for (const setup of NODE_SETUPS.filter((s) => chosen(s.name))) results.push(await count(setup, runtime, backends, dir));
  }
} finally {
  await Promise.all([plain.stop(), divergent.stop()]);
  rmSync(dir, { recursive: true, force: true });
}

const find = (setup: string, runtime: string) => results.find((r) => r.setup === setup && r.runtime === runtime)?.perRequest;
const nginx = find("nginx", "C");
console.log("\n| setup | runtime | instructions / request (main thread, net) | gross | idle base, M/s | × bare undici | × nginx | helper threads / request (not judged) |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of results) {
  const bare = find("bare undici", r.runtime);
  console.log(
    `| ${r.setup} | ${r.runtime} | ${Math.round(r.perRequest)} | ${Math.round(r.grossPerRequest)} | ${(r.idlePerSecond / 1e6).toFixed(2)} | ${bare ? (r.perRequest / bare).toFixed(2) : "-"} | ${nginx ? (r.perRequest / nginx).toFixed(2) : "-"} | ${Math.round(r.othersPerRequest)} |`,
  );
}

/** The CPU targets (issue 35), each a ratio of two setups on the same runtime. */
const TARGETS = [
  { name: "ours pass-through ≤ 1.00 × bare undici", of: "ours pass-through", to: "bare undici", max: 1.0 },
  { name: "access log on every request ≤ 1.15 × pass-through", of: "ours access log 100%", to: "ours pass-through", max: 1.15 },
  { name: "shadow 100% ≤ 1.5 × pass-through", of: "ours shadow 100%", to: "ours pass-through", max: 1.5 },
  { name: "diverging ≤ 1.2 × matching", of: "ours shadow diverging", to: "ours shadow 100%", max: 1.2 },
];
console.log("");
for (const runtime of runtimes) {
  for (const target of TARGETS) {
    const of = find(target.of, runtime.label);
    const to = find(target.to, runtime.label);
    if (of === undefined || to === undefined) continue;
    const ratio = of / to;
    console.log(`${ratio <= target.max ? "PASS" : "FAIL"}  ${runtime.label}: ${target.name}: ${ratio.toFixed(3)} ×`);
  }
  const bare = find("bare undici", runtime.label);
  if (bare && nginx) console.log(`INFO  ${runtime.label}: bare undici is ${(bare / nginx).toFixed(2)} × nginx (the C floor, ${Math.round(nginx)} instructions a request)`);
}

mkdirSync(join(ROOT, "bench/results"), { recursive: true });
writeFileSync(join(ROOT, "bench/results/instructions-latest.json"), `${JSON.stringify({ at: new Date().toISOString(), requests: REQUESTS, results }, null, 2)}\n`);
