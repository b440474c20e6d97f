/**
 * `npm run bench:fleet`: what a fleet costs its PostgreSQL, at N nodes and R routes (issue 32). Two cores
 * cannot run a hundred proxies, so a run starts a throwaway PostgreSQL, a few real proxy nodes
 * (`src/main.ts` with R shadowed, guarded routes; one of them judges, folds and evaluates), and the rest
 * of the N nodes as node *stores* in a few processes (bench/fleet-node-sim.ts: the proxy's own stores,
 * evidence and shadow writers, heartbeat, lease, fold, LISTEN and reconciliation, fed a synthetic stream
 * in which every route has traffic on every node between two flushes). Measured, from PostgreSQL's own
 * statistics over `--duration` seconds: rows written and transactions committed a second (reads
 * included), the database's CPU (its processes' user + system time over the window), each node's flush
 * latency (p99), the oldest inbox row the judge found (how late the guards see a node's evidence); then
 * 100 rollout changes through one proxy, each timed until every node has read it (propagation p99); then
 * the judging proxy killed with SIGKILL, timed until another node holds the lease (failover).
 *
 *   npm run bench:fleet                                  # (3, 7), (10, 50) and (100, 500)
 *   npm run bench:fleet -- --nodes 100 --routes 500 [--duration 30] [--proxies 2] [--processes 4]
 *
 * Prints a table and writes bench/results/fleet-sizing.json.
 */
import { fork } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import pg from "pg";
import { postgresBinDir, POSTGRES_MISSING, startTempPostgres } from "../scripts/temp-postgres.ts";
import { cpuSeconds, processTree, ROOT, startProcess, type Started } from "./processes.ts";

const { values } = parseArgs({
  options: {
    nodes: { type: "string" },
    routes: { type: "string" },
    duration: { type: "string", default: "30" },
    proxies: { type: "string", default: "2" },
    processes: { type: "string", default: "4" },
    changes: { type: "string", default: "100" },
  },
});
const DURATION_S = Math.min(Number(values.duration), 300);
const PROXIES = Math.max(2, Number(values.proxies));
const PROCESSES = Math.max(1, Number(values.processes));
const CHANGES = Number(values.changes);
const INTERVAL_MS = 10_000; // guards.intervalMs's default: the lease's length
if (!postgresBinDir()) {
  console.error(POSTGRES_MISSING);
  process.exit(1);
}
const points: Array<[number, number]> = values.nodes ? [[Number(values.nodes), Number(values.routes ?? 50)]] : [[3, 7], [10, 50], [100, 500]];

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] as number);
};
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function statistics(client: pg.Client) {
  // The statistics are reported with a delay: ask for a fresh view of them.
  await client.query("SELECT pg_stat_clear_snapshot()");
  const commits = Number((await client.query<{ n: string }>("SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()")).rows[0]?.n ?? 0);
  const rows = (await client.query<{ relname: string; n: string }>("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS n FROM pg_stat_user_tables")).rows;
  return { commits, tables: new Map(rows.map((r) => [r.relname, Number(r.n)])) };
}

async function measure(nodes: number, routeCount: number) {
  const postgres = await startTempPostgres({ maxConnections: 200 + nodes * 7 });
  console.log(`(${nodes} nodes, ${routeCount} routes): PostgreSQL at ${postgres.url}`);
  const backend = createServer((_req, res) => res.setHeader("content-type", "application/json").end('{"ok":true}'));
  backend.listen(0, "127.0.0.1");
  await once(backend, "listening");
  const backendUrl = `http://127.0.0.1:${(backend.address() as { port: number }).port}`;
  const dir = mkdtempSync(join(tmpdir(), "strangler-fleet-bench-"));
  const configPath = join(dir, "routes.config.ts");
  writeFileSync(
    configPath,
    "export default " + JSON.stringify({
      backends: { legacy: { url: backendUrl }, svc: { url: backendUrl } },
      routes: Array.from({ length: routeCount }, (_, i) => ({
        id: `route-${i}`,
        match: { path: `/api/route-${i}/*` },
        target: "svc",
        rollout: { percent: 10 },
        shadow: { percent: 100 },
        guard: { windowMs: 60_000, minSamples: 20, maxErrorRate: 0.5 },
      })),
    }),
  );
  const proxies: Started[] = [];
  let stopping = false;
  const sims: Array<ReturnType<typeof fork>> = [];
  const client = new pg.Client({ connectionString: postgres.url });
  try {
    for (let i = 0; i < PROXIES; i++) {
      proxies.push(await startProcess(process.execPath, ["--import", "tsx", "src/main.ts", "--config", configPath], { DATABASE_URL: postgres.url, PORT: "0", ADMIN_PORT: "0", HOST: "127.0.0.1", DATA_DIR: join(dir, `data-${i}`), LOG_LEVEL: "info" }, (line) => line.msg === "proxy listening"));
    }
    // A proxy that dies is told at once, with the end of its log (stdout and stderr).
    for (const [i, p] of proxies.entries()) {
      let tail = "";
      const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4_000));
      p.child.stdout?.on("data", keep);
      p.child.stderr?.on("data", keep);
      p.child.once("exit", (code, signal) => {
        if (!stopping && signal !== "SIGKILL") console.error(`proxy ${i} exited (${code ?? signal}):\n${tail}`);
      });
    }
    await client.connect();
    const holder = async () =>
      (await client.query<{ holder: string; remaining: number }>("SELECT holder, (expires_at - extract(epoch FROM clock_timestamp()) * 1000)::float8 AS remaining FROM leases WHERE name = 'judge'")).rows[0];
    while (!(await holder())) await sleep(50);
    // The other nodes, as node stores, spread over a few processes.
    const simulated = nodes - PROXIES;
    const seen = new Map<string, number[]>();
    const flushes: number[] = [];
    const loopDelays: number[] = [];
    const checkoutReports: number[] = [];
    /** Round trips the simulated nodes made so far (their pools' checkouts), summed over the processes. */
    const simCheckouts = async () => {
      checkoutReports.length = 0;
      for (const c of sims) c.send({ count: true });
      while (checkoutReports.length < sims.length) await sleep(10);
      return checkoutReports.reduce((a, b) => a + b, 0);
    };
    const processes = Math.min(PROCESSES, Math.max(1, simulated));
    let firstNode = PROXIES;
    for (let p = 0; p < processes && simulated > 0; p++) {
      const share = Math.floor(simulated / processes) + (p < simulated % processes ? 1 : 0);
      const child = fork(join(ROOT, "bench", "fleet-node-sim.ts"), [], { cwd: ROOT, execArgv: ["--import", "tsx"], env: { ...process.env, DATABASE_URL: postgres.url, NODES: String(share), FIRST_NODE: String(firstNode), FLEET_NODES: String(nodes), ROUTES: String(routeCount), INTERVAL_MS: String(INTERVAL_MS) } });
      firstNode += share;
      child.on("message", (m: { seen?: string; at?: number; flushes?: number[]; loopDelayP99Ms?: number; checkouts?: number }) => {
        if (m.checkouts !== undefined) checkoutReports.push(m.checkouts);
        if (m.seen !== undefined) seen.set(m.seen, [...(seen.get(m.seen) ?? []), m.at as number]);
        if (m.flushes) flushes.push(...m.flushes);
        if (m.loopDelayP99Ms !== undefined) loopDelays.push(m.loopDelayP99Ms);
      });
      sims.push(child);
    }
    await Promise.all(sims.map((c) => new Promise<void>((resolve, reject) => {
      c.on("message", (m: { ready?: number }) => m.ready !== undefined && resolve());
      c.once("exit", (code) => reject(new Error(`a simulated node process exited (${code})`)));
    })));
    for (const c of sims) c.send({ go: true });
    await sleep(5_000); // every node past its first flushes and beats
    // Steady state: rows, transactions, the database's CPU, the inbox's oldest row.
    const dbPids = () => processTree(postgres.postmasterPid());
    /** Round trips the proxies made so far, from their own metrics. */
    const proxyCheckouts = async () => {
      let sum = 0;
      for (const p of proxies) {
        if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
        const text = await (await fetch(`http://127.0.0.1:${p.ready.adminPort as number}/metrics`)).text();
        sum += Number(/strangler_store_checkouts_total\{database="main"\} (\d+)/.exec(text)?.[1] ?? 0);
      }
      return sum;
    };
    const proxyCheckoutsBefore = await proxyCheckouts();
    const checkoutsBefore = await simCheckouts();
    const before = await statistics(client);
    const cpuBefore = cpuSeconds(dbPids());
    const started = performance.now();
    const inboxAges: number[] = [];
    while (performance.now() - started < DURATION_S * 1000) {
      await sleep(1_000);
      const { rows } = await client.query<{ age: number | null }>("SELECT (extract(epoch FROM clock_timestamp() - min(written_at)) * 1000)::float8 AS age FROM fleet_inbox");
      inboxAges.push(rows[0]?.age ?? 0);
    }
    const seconds = (performance.now() - started) / 1000;
    const connections = Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()")).rows[0]?.n);
    const cpu = cpuSeconds(dbPids()) - cpuBefore;
    const after = await statistics(client);
    const simTransactionsPerSecond = round(((await simCheckouts()) - checkoutsBefore) / seconds);
    const proxyTransactionsPerSecond = round(((await proxyCheckouts()) - proxyCheckoutsBefore) / seconds);
    const tables = [...after.tables].map(([table, n]) => ({ table, rowsPerSecond: round((n - (before.tables.get(table) ?? 0)) / seconds) })).filter((t) => t.rowsPerSecond > 0).sort((a, b) => b.rowsPerSecond - a.rowsPerSecond);
    const rowsPerSecond = round(tables.reduce((sum, t) => sum + t.rowsPerSecond, 0));
    const transactionsPerSecond = round((after.commits - before.commits) / seconds);
    console.log(`\n(${nodes} nodes, ${routeCount} routes), steady state over ${round(seconds)} s: ${rowsPerSecond} rows written/s, ${transactionsPerSecond} transactions/s (round trips: the simulated nodes' ${simTransactionsPerSecond}/s, the proxies' ${proxyTransactionsPerSecond}/s), database CPU ${round((cpu / seconds) * 100)}% of a core, ${connections} connections`);
    for (const t of tables) console.log(`  | ${t.table} | ${t.rowsPerSecond} |`);
    // The guards judged the fleet's folded evidence: each route whose target the stream fails is halted.
    const halted = Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM route_migration WHERE state = 'halted'")).rows[0]?.n);
    const failing = Array.from({ length: routeCount }, (_, r) => r).filter((r) => r % 50 === 7).length;
    // The synthetic stream stops: propagation and failover are timed on a fleet whose nodes have their
    // CPU (a hundred nodes' streams on two cores would time this machine, not the fleet). Flushes measured
    // so far are kept; the processes' event-loop delay says how much of them was the harness.
    await Promise.all(sims.map((c) => new Promise<void>((resolve) => {
      const onMessage = (m: { paused?: boolean }) => {
        if (!m.paused) return;
        c.off("message", onMessage);
        resolve();
      };
      c.on("message", onMessage);
      c.send({ pause: true });
    })));
    await sleep(3_000);
    // Propagation: a change through the first proxy, until every simulated node has read it.
    const admin = `http://127.0.0.1:${proxies[0]?.ready.adminPort as number}`;
    const delays: number[] = [];
    let missed = 0;
    for (let i = 0; i < CHANGES && simulated > 0; i++) {
      const reason = `bench-${i}`;
      const at = Date.now();
      // Even routes only: the stream fails every 50th route's target from route-7 on (odd), and its guard halts it.
      const change = () => fetch(`${admin}/api/routes/route-${(i * 2) % routeCount}/rollout`, { method: "PUT", headers: { "content-type": "application/json", connection: "close" }, body: JSON.stringify({ percent: i % 2 ? 20 : 30, reason }) });
      // A fresh connection each time (a kept-alive one may be closed by the server as it is reused); one retry.
      const res = await change().catch(() => change());
      if (!res.ok) throw new Error(`the change was refused: ${res.status} ${await res.text()}`);
      const deadline = Date.now() + 3_000;
      while ((seen.get(reason)?.length ?? 0) < simulated && Date.now() < deadline) await sleep(5);
      const times = seen.get(reason) ?? [];
      missed += simulated - times.length;
      for (const t of times) delays.push(Math.max(0, t - at));
    }
    // Failover: the judging proxy killed with SIGKILL, until another node holds the lease.
    // The judge is a proxy, or one of the simulated nodes (its whole process then dies: a quarter of the fleet).
    const judge = (await holder())?.holder ?? "";
    const victim = proxies.find((p) => judge.includes(`:${p.child.pid}:`))?.child ?? sims.find((c) => judge.startsWith(`sim:${c.pid}:`));
    let failoverMs = NaN;
    let newJudge = "";
    const judgeWas = judge.startsWith("sim:") ? "a simulated node" : "a proxy";
    if (victim) {
      victim.kill("SIGKILL");
      const killedAt = performance.now();
      for (;;) {
        const now = await holder();
        if (now && now.holder !== judge && now.remaining > 0) {
          failoverMs = performance.now() - killedAt;
          newJudge = now.holder;
          break;
        }
        if (performance.now() - killedAt > 6 * INTERVAL_MS) break;
        await sleep(25);
      }
    }
    await Promise.all(sims.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => new Promise<void>((resolve) => {
      c.once("exit", () => resolve());
      c.send({ stop: true });
      setTimeout(() => c.kill("SIGKILL"), 30_000).unref();
    })));
    return {
      nodes,
      routes: routeCount,
      seconds: round(seconds),
      rowsPerSecond,
      transactionsPerSecond,
      databaseCpuPercent: round((cpu / seconds) * 100),
      flushP99Ms: round(quantile(flushes, 0.99)),
      oldestInboxRowMs: round(Math.max(0, ...inboxAges), 0),
      halted: `${halted} of ${failing}`,
      connections,
      propagationP99Ms: round(quantile(delays, 0.99), 0),
      propagationMaxMs: round(Math.max(0, ...delays), 0),
      propagationMissed: missed,
      failoverMs: round(failoverMs, 0),
      judgeWas,
      newJudge: newJudge.startsWith("sim:") ? "a simulated node" : "a proxy",
      simLoopDelayP99Ms: round(Math.max(0, ...loopDelays), 0),
      tables,
    };
  } finally {
    stopping = true;
    for (const c of sims) if (c.exitCode === null) c.kill("SIGKILL");
    await Promise.all(proxies.map((p) => p.stop().catch(() => undefined)));
    await client.end().catch(() => undefined);
    backend.close();
    await postgres.stop();
  }
}

const results = [];
for (const [nodes, routes] of points) {
  const r = await measure(nodes, routes);
  results.push(r);
  console.log(`\n(${nodes} nodes, ${routes} routes), ${r.seconds} s: ${r.rowsPerSecond} rows written/s, ${r.transactionsPerSecond} transactions/s, database CPU ${r.databaseCpuPercent}% of a core`);
  console.log(`  flush p99 ${r.flushP99Ms} ms; oldest inbox row ${r.oldestInboxRowMs} ms; propagation p99 ${r.propagationP99Ms} ms (max ${r.propagationMaxMs}, ${r.propagationMissed} missed); failover ${r.failoverMs} ms (${r.judgeWas} killed, ${r.newJudge} took over); simulated nodes' event-loop delay p99 ${r.simLoopDelayP99Ms} ms; routes halted by their guard ${r.halted} failing; ${r.connections} connections open`);
  console.log("  | table | rows written/s |");
  for (const t of r.tables) console.log(`  | ${t.table} | ${t.rowsPerSecond} |`);
}
console.log("\n| nodes | routes | rows written/s | transactions/s | database CPU | flush p99 | oldest inbox row | propagation p99 | failover |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const r of results) console.log(`| ${r.nodes} | ${r.routes} | ${r.rowsPerSecond} | ${r.transactionsPerSecond} | ${r.databaseCpuPercent}% | ${r.flushP99Ms} ms | ${r.oldestInboxRowMs} ms | ${r.propagationP99Ms} ms | ${r.failoverMs} ms |`);
writeFileSync(join(ROOT, "bench", "results", "fleet-sizing.json"), JSON.stringify({ at: new Date().toISOString(), results }, null, 2));
