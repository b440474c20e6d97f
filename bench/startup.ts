/**
 * `npm run bench:startup`: how long the proxy takes to be ready, and how much memory it holds idle, run
 * from its TypeScript sources through tsx (development) against its compiled build (production: `npm run
 * build`, then `node dist/main.js`), in one run, the two alternating.
 *
 * Each start: the same config (bench/routes.bench.ts, its backend up), a fresh data dir, PORT and
 * ADMIN_PORT 0; ready is the admin listener's /readyz answering 200, timed from the spawn; idle RSS is
 * read from /proc 3 s later, with no request in between. Prints medians and the ratios.
 *
 *   npm run bench:startup -- [--runs 5]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { build, DEFAULT_OUT_DIR } from "../scripts/build.ts";
import { ROOT, startProcess } from "./processes.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const RUNS = Number(values.runs);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** One start: ms until /readyz answers 200, and the RSS (MB) 3 s after, idle. */
async function startOnce(args: string[], backendPort: number): Promise<{ readyMs: number; rssMb: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), "strangler-startup-"));
  const started = performance.now();
  const child = spawn(process.execPath, [...args, "--config", "bench/routes.bench.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", ADMIN_PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "info", LEGACY_URL: `http://127.0.0.1:${backendPort}`, TARGET_URL: `http://127.0.0.1:${backendPort}` },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    let readyMs: number | undefined;
    while (readyMs === undefined) {
      if (child.exitCode !== null) throw new Error(`the proxy exited: ${output}`);
      const line = output.split("\n").find((l) => l.includes('"proxy listening"'));
      const adminPort = line ? (JSON.parse(line) as { adminPort: number }).adminPort : undefined;
      if (adminPort && (await fetch(`http://127.0.0.1:${adminPort}/readyz`).then((r) => r.status, () => 0)) === 200) readyMs = performance.now() - started;
      else await sleep(10);
    }
    await sleep(3_000);
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1]);
    return { readyMs, rssMb: kb / 1024 };
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

build();
const backend = await startProcess(process.execPath, ["--import", "tsx", "bench/backend.ts"], {}, (line) => typeof line.port === "number");
const variants = [
  { name: "sources through tsx (node --import tsx src/main.ts)", args: ["--import", "tsx", "src/main.ts"] },
  { name: "compiled (node dist/main.js)", args: [join(DEFAULT_OUT_DIR, "main.js")] },
];
const samples = variants.map(() => ({ ready: [] as number[], rss: [] as number[] }));
try {
  for (let run = 0; run < RUNS; run++) {
    for (const [i, variant] of variants.entries()) {
      const { readyMs, rssMb } = await startOnce(variant.args, backend.ready.port as number);
      samples[i]?.ready.push(readyMs);
      samples[i]?.rss.push(rssMb);
    }
  }
} finally {
  await backend.stop();
}
console.log(`\nNode ${process.versions.node}, ${RUNS} starts each, alternating; medians (range)\n`);
console.log("| how it runs | ready in, ms | idle RSS, MB |\n| --- | ---: | ---: |");
for (const [i, variant] of variants.entries()) {
  const s = samples[i] as { ready: number[]; rss: number[] };
  console.log(`| ${variant.name} | ${Math.round(median(s.ready))} (${Math.round(Math.min(...s.ready))}–${Math.round(Math.max(...s.ready))}) | ${Math.round(median(s.rss))} (${Math.round(Math.min(...s.rss))}–${Math.round(Math.max(...s.rss))}) |`);
}
const [source, compiled] = samples as [{ ready: number[]; rss: number[] }, { ready: number[]; rss: number[] }];
console.log(`\ncompiled / sources: ready ${(median(compiled.ready) / median(source.ready)).toFixed(2)} ×, idle RSS ${(median(compiled.rss) / median(source.rss)).toFixed(2)} ×`);
