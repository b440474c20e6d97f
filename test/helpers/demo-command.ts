import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { makeTempDir } from "./temp-dir.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** `npm run demo` (or `demo:fleet`) as a child process, on free ports and a temp data dir of its own. */
export interface RunningDemoCommand {
  readonly child: ChildProcess;
  readonly dataDir: string;
  /** One per proxy node: the data plane's and the admin listener's URLs. */
  readonly nodes: readonly { readonly url: string; readonly admin: string }[];
  readonly legacy: string;
  readonly catalog: string;
  readonly orders: string;
  /** The fleet's PostgreSQL, for `--fleet`. */
  readonly databaseUrl?: string;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** SIGINT, as Ctrl-C sends; resolves with the exit code, and removes the data dir. */
  stop(): Promise<number | null>;
}

/**
 * Runs scripts/demo.ts, the script `npm run demo` runs, with every port 0, and resolves once it printed
 * its addresses (the "Try:" lines come last). Rejects with its output when it exits or takes over
 * `timeoutMs` first.
 */
export async function startDemoCommand(options: { fleet?: boolean; tls?: boolean; timeoutMs?: number } = {}): Promise<RunningDemoCommand> {
  const temp = makeTempDir("strangler-demo-command-");
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts", ...(options.fleet ? ["--fleet"] : []), ...(options.tls ? ["--tls"] : [])], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: temp.dir, PORT: "0", ADMIN_PORT: "0", LEGACY_PORT: "0", CATALOG_PORT: "0", ORDERS_PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const stop = async (): Promise<number | null> => {
    const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve([child.exitCode]) : once(child, "exit");
    child.kill("SIGINT");
    const [code] = (await exited) as [number | null];
    temp.remove();
    return code;
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!/Ctrl-C stops everything/.test(output) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  const url = (name: string): string | undefined => new RegExp(`^\\s+${name}\\s+(https?://127\\.0\\.0\\.1:\\d+)`, "m").exec(output)?.[1];
  const nodes = options.fleet
    ? [...output.matchAll(/node \d+\s+proxy (https?:\/\/\S+)\s+admin (https?:\/\/\S+)/g)].map((m) => ({ url: m[1] as string, admin: m[2] as string }))
    : [{ url: url("proxy"), admin: url("admin") }].filter((n): n is { url: string; admin: string } => n.url !== undefined && n.admin !== undefined);
  const [legacy, catalog, orders] = [url("legacy-monolith"), url("catalog"), url("orders")];
  if (nodes.length === 0 || legacy === undefined || catalog === undefined || orders === undefined) {
    await stop();
    throw new Error(`the demo did not come up:\n${output}`);
  }
  const databaseUrl = /postgres\s+(postgres:\/\/\S+)/.exec(output)?.[1];
  return { child, dataDir: temp.dir, nodes, legacy, catalog, orders, ...(databaseUrl ? { databaseUrl } : {}), output: () => output, stop };
}
