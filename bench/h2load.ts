import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/** How an edge setup is driven: its scheme, and HTTP/2 (by ALPN over TLS) or HTTP/1.1. */
export interface EdgeLoad {
  readonly scheme: "http" | "https";
  readonly h2: boolean;
}

/** Why h2load cannot run here, or undefined. */
export function h2loadMissing(): string | undefined {
  try {
    execFileSync("sh", ["-c", "command -v h2load"], { encoding: "utf8" });
    return undefined;
  } catch {
    return "h2load is not installed (apt-get install -y nghttp2-client to include the edge setups)";
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * One slice of h2load (nghttp2's load generator, in C) against `url`: `connections` clients, one request
 * in flight on each (HTTP/2 streams included, so the concurrency is autocannon's), for `seconds`.
 * Throughput from its summary; p50 and p99 from its per-request log (`--log-file`), in ms.
 */
export async function h2load(url: string, load: EdgeLoad, connections: number, seconds: number): Promise<{ requests: number; rps: number; p50: number; p99: number; errors: number }> {
  const dir = mkdtempSync(join(tmpdir(), "strangler-h2load-"));
  const log = join(dir, "requests.log");
  try {
    const args = ["-c", String(connections), "-m", "1", "-D", String(seconds), "--log-file", log, "-H", "x-user-id: bench-user", ...(load.h2 ? [] : ["--h1"]), url];
    const { stdout } = await promisify(execFile)("h2load", args, { maxBuffer: 16 * 1024 * 1024, timeout: (seconds + 30) * 1000 });
    const rps = Number(/finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(stdout)?.[1] ?? 0);
    const counts = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
    if (!counts) throw new Error(`h2load printed no summary:\n${stdout}`);
    const done = Number(counts[3]);
    // Answers that were not 2xx, and requests that got none (failed, errored, timed out).
    const codes = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
    const notOk = codes ? Number(codes[1]) + Number(codes[2]) + Number(codes[3]) : 0;
    // Each line: start (µs since the epoch), status, µs until the end of the response.
    const micros = readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => Number(line.split("\t")[2])).filter(Number.isFinite).sort((a, b) => a - b);
    return {
      requests: done,
      rps: Math.round(rps),
      p50: Math.round(percentile(micros, 50) / 10) / 100,
      p99: Math.round(percentile(micros, 99) / 10) / 100,
      errors: notOk + Number(counts[5]) + Number(counts[6]) + Number(counts[7]),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
