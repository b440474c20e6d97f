/**
 * `npm run bench:fleet`: what a fleet writes to its PostgreSQL. Starts `npm run demo:fleet` (a throwaway
 * cluster, three proxy nodes with the shipped routes.config.ts), sends the demo's traffic spread over the
 * nodes for `--duration` seconds at `--connections` concurrent clients, and reads PostgreSQL's own
 * statistics before and after: transactions committed, and rows written per table, per second and per
 * node. Prints a table and writes bench/results/fleet-sizing.json.
 *
 *   npm run bench:fleet -- [--duration 30] [--connections 6]
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import pg from "pg";
import { postgresBinDir, POSTGRES_MISSING } from "../scripts/temp-postgres.ts";
import { ROOT } from "./processes.ts";

const { values } = parseArgs({ options: { duration: { type: "string", default: "30" }, connections: { type: "string", default: "6" } } });
const DURATION = Math.min(Number(values.duration), 300);
const CONNECTIONS = Number(values.connections);
if (!postgresBinDir()) {
  console.error(POSTGRES_MISSING);
  process.exit(1);
}

interface Snapshot {
  readonly commits: number;
  readonly tables: Map<string, number>;
}

async function snapshot(client: pg.Client, database: string): Promise<Snapshot> {
  // The statistics collector reports with a delay: ask for a fresh view of them.
  await client.query("SELECT pg_stat_clear_snapshot()");
  const commits = Number((await client.query<{ n: string }>("SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1", [database])).rows[0]?.n ?? 0);
  const rows = (await client.query<{ relname: string; n: string }>("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS n FROM pg_stat_user_tables")).rows;
  return { commits, tables: new Map(rows.map((r) => [r.relname, Number(r.n)])) };
}

const demo = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts", "--fleet"], {
  cwd: ROOT,
  env: { ...process.env, DATA_DIR: mkdtempSync(join(tmpdir(), "strangler-fleet-bench-")), PORT: "0", ADMIN_PORT: "0", LEGACY_PORT: "0", CATALOG_PORT: "0", ORDERS_PORT: "0", LOG_LEVEL: "warn" },
  stdio: ["ignore", "pipe", "inherit"],
});
let output = "";
demo.stdout.on("data", (d: Buffer) => (output += d.toString()));
try {
  const deadline = Date.now() + 60_000;
  while (!output.includes("removes the cluster") && Date.now() < deadline && demo.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  const databaseUrl = /postgres\s+(postgres:\/\/\S+)/.exec(output)?.[1];
  const nodes = [...output.matchAll(/node \d+\s+proxy (http:\/\/\S+)/g)].map((m) => m[1] as string);
  if (!databaseUrl || nodes.length === 0) throw new Error(`the fleet demo did not start:\n${output}`);
  const database = new URL(databaseUrl).pathname.slice(1);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  // The demo's reads: every route, shadowed, at its shipped percentage.
  const pad = (n: number) => String(n).padStart(3, "0");
  const requests = [
    ...[1, 2, 3].map((p) => ({ path: `/api/products?page=${p}` })),
    ...Array.from({ length: 20 }, (_, i) => ({ path: `/api/products/p_${pad(i + 1)}` })),
    ...Array.from({ length: 20 }, (_, i) => ({ path: `/api/inventory/p_${pad(i + 1)}` })),
    ...[1, 2].map((p) => ({ path: `/api/orders?page=${p}` })),
    ...Array.from({ length: 20 }, (_, i) => ({ path: `/api/orders/ord_seed_${pad(i + 1)}` })),
    ...Array.from({ length: 10 }, (_, i) => ({ path: `/api/users/u_${pad(i + 1)}` })),
  ];
  await new Promise((r) => setTimeout(r, 2_000)); // let start-up writes settle
  const before = await snapshot(client, database);
  const started = Date.now();
  const results = await Promise.all(
    nodes.map((url) => autocannon({ url, connections: Math.max(1, Math.round(CONNECTIONS / nodes.length)), duration: DURATION, requests, headers: { "x-user-id": "sizing" } })),
  );
  await new Promise((r) => setTimeout(r, 1_500)); // the last evidence flush and shadow writes
  const seconds = (Date.now() - started) / 1000;
  const after = await snapshot(client, database);
  await client.end();

  const served = results.reduce((sum, r) => sum + r.requests.total, 0);
  const perSecond = (n: number) => Math.round((n / seconds) * 10) / 10;
  const tables = [...after.tables]
    .map(([name, n]) => ({ table: name, rowsPerSecond: perSecond(n - (before.tables.get(name) ?? 0)) }))
    .filter((t) => t.rowsPerSecond > 0)
    .sort((a, b) => b.rowsPerSecond - a.rowsPerSecond);
  const commitsPerSecond = perSecond(after.commits - before.commits);
  console.log(`fleet sizing: ${nodes.length} nodes, ${served} requests in ${seconds.toFixed(1)} s (${Math.round(served / seconds)} req/s over the fleet), ${requests.length} paths over 7 routes`);
  console.log(`  transactions committed (reads included): ${commitsPerSecond}/s, ${Math.round((commitsPerSecond / nodes.length) * 10) / 10}/s per node`);
  console.log("| table | rows written/s | per node |");
  for (const t of tables) console.log(`| ${t.table} | ${t.rowsPerSecond} | ${Math.round((t.rowsPerSecond / nodes.length) * 10) / 10} |`);
  writeFileSync(join(ROOT, "bench", "results", "fleet-sizing.json"), JSON.stringify({ at: new Date().toISOString(), nodes: nodes.length, seconds, served, commitsPerSecond, tables }, null, 2));
} finally {
  const exited = demo.exitCode !== null || demo.signalCode !== null ? Promise.resolve() : once(demo, "exit");
  demo.kill("SIGINT");
  await exited;
}
