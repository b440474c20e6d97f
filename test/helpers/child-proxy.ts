import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The proxy running as its own process: from its sources through tsx, or built (`npm run build`'s main.js). */
export interface ChildProxy {
  readonly process: ChildProcess;
  readonly url: string;
  readonly adminUrl: string;
  /** Resident set size of the proxy process now, in bytes (from /proc). */
  rssBytes(): number;
  stop(): Promise<void>;
}

/** Runs `src/main.ts` with `args`; resolves with its exit code, stdout and stderr. */
export function runMain(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runProcess(process.execPath, ["--import", "tsx", "src/main.ts", ...args], { ...process.env, ...env } as Record<string, string>);
}

/** Runs a command from the repository's root with `env` (whole: pass process.env's along to keep it); its exit code, stdout and stderr. */
export async function runProcess(command: string, args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { cwd: ROOT, env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

/**
 * Starts the proxy on free ports and waits for its "proxy listening" log line. `entry` is the sources'
 * src/main.ts (through tsx) unless it names a compiled main.js.
 */
export async function spawnProxy(configPath: string, env: Record<string, string> = {}, nodeArgs: readonly string[] = [], entry = "src/main.ts"): Promise<ChildProxy> {
  const loader = entry.endsWith(".ts") ? ["--import", "tsx"] : [];
  const child = spawn(process.execPath, [...nodeArgs, ...loader, entry, "--config", configPath], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ADMIN_PORT: "0", LOG_LEVEL: "info", DATA_DIR: mkdtempSync(join(dirname(configPath), "data-")), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const listening = await new Promise<{ port: number; adminPort: number }>((resolve, reject) => {
    let buffered = "";
    const onData = (d: Buffer) => {
      buffered += d.toString();
      for (const line of buffered.split("\n")) {
        if (!line.includes('"proxy listening"')) continue;
        child.stdout.off("data", onData);
        child.stdout.resume(); // keep draining so the child never blocks on a full pipe
        resolve(JSON.parse(line) as { port: number; adminPort: number });
        return;
      }
    };
    child.stdout.on("data", onData);
    child.once("exit", (code) => reject(new Error(`proxy exited with ${code} before listening: ${stderr}`)));
    setTimeout(() => reject(new Error(`proxy did not start in 30 s: ${stderr}`)), 30_000).unref();
  });
  return {
    process: child,
    url: `http://127.0.0.1:${listening.port}`,
    adminUrl: `http://127.0.0.1:${listening.adminPort}`,
    rssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
      return kb * 1024;
    },
    async stop() {
      // Already gone (exited, or killed by a signal): "exit" will not come again.
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await once(child, "exit");
      clearTimeout(timer);
    },
  };
}
