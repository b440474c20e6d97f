import process from "node:process";
import cluster from "node:cluster";
import { parseArgs } from "node:util";
import { AdminConfigError, adminTokensFromEnv } from "./admin/admin-tokens.ts";
import { ConfigError } from "./config/config-error.ts";
import { createLogger } from "./log/logger.ts";
import { serveClusterMetrics } from "./metrics/cluster-metrics.ts";
import { startStrangler } from "./strangler.ts";
import { PACKAGE_VERSION } from "./version.ts";

function intFrom(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535 || (name === "WORKERS" && (n < 1 || n > 64))) {
    console.error(`${name} must be ${name === "WORKERS" ? "a whole number from 1 to 64" : "a port number (0-65535)"}, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
}

const USAGE = `usage: npm start -- [--config routes.config.ts] [--port 8080] [--admin-port 9901] [--workers N]
  (npm start builds dist/ first; the built proxy alone: node dist/main.js ...)
environment: CONFIG, PORT, HOST, ADMIN_PORT, ADMIN_HOST, DATA_DIR, DATABASE_URL, EVIDENCE_DATABASE_URL, STRANGLER_ADMIN_TOKEN(S), WORKERS, LOG_LEVEL, LOG_PRETTY
(docs/production.md explains each)`;

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        config: { type: "string" },
        port: { type: "string" },
        "admin-port": { type: "string" },
        workers: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    }).values;
  } catch (error) {
    // One line, not the parser's stack trace.
    console.error(`strangler-fig: ${(error as Error).message.split("\n")[0]} (--help for usage)`);
    process.exit(2);
  }
}

const values = parseCommandLine();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.version) {
  console.log(PACKAGE_VERSION);
  process.exit(0);
}

const logger = createLogger({ level: process.env.LOG_LEVEL, pretty: process.env.LOG_PRETTY === "1" });
const workers = intFrom(values.workers ?? process.env.WORKERS, "WORKERS", 1);

if (workers > 1 && cluster.isPrimary) {
  runPrimary(workers);
} else {
  await runProxy();
}

/**
 * `--workers N`: N processes share the data plane and admin ports (node:cluster hands connections out)
 * and the data directory (SQLite in WAL mode). A worker that dies is replaced; SIGINT/SIGTERM stop all.
 */
function runPrimary(count: number): void {
  let stopping = false;
  logger.info({ workers: count }, "starting workers");
  serveClusterMetrics();
  for (let i = 0; i < count; i++) cluster.fork();
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, "worker exited; starting another");
    if (code === 1 && !signal) {
      // A worker that cannot start (bad config) would fail again: stop instead of looping.
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
      process.exitCode = 1;
      return;
    }
    cluster.fork();
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGTERM");
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/** One proxy process: start, and stop cleanly on SIGINT/SIGTERM. */
async function runProxy(): Promise<void> {
  try {
    const proxy = await startStrangler({
      configPath: values.config ?? process.env.CONFIG ?? "routes.config.ts",
      port: intFrom(values.port ?? process.env.PORT, "PORT", 8080),
      host: process.env.HOST ?? "0.0.0.0",
      adminPort: intFrom(values["admin-port"] ?? process.env.ADMIN_PORT, "ADMIN_PORT", 9901),
      adminHost: process.env.ADMIN_HOST ?? "127.0.0.1",
      dataDir: process.env.DATA_DIR ?? "data",
      databaseUrl: process.env.DATABASE_URL || undefined,
      evidenceDatabaseUrl: process.env.EVIDENCE_DATABASE_URL || undefined,
      adminTokens: adminTokensFromEnv(process.env),
      clusterWorker: cluster.isWorker,
      logger,
    });
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down");
      void proxy.close().then(() => process.exit(0));
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.fatal({ issues: error.issues, config: error.source }, "invalid config");
      console.error(error.message);
    } else if (error instanceof AdminConfigError) {
      logger.fatal({ err: error.message }, "admin listener refused");
      console.error(error.message);
    } else {
      logger.fatal({ err: error }, "could not start");
    }
    // Let the logger flush before exiting.
    setTimeout(() => process.exit(1), 50);
  }
}
