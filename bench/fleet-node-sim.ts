/**
 * Part of `npm run bench:fleet` (bench/fleet-sizing.ts): NODES fleet nodes in one process, each with the
 * stores, writers and timers a proxy node runs against PostgreSQL (the same code: `openStores`,
 * `FleetEvidence`, `EvidenceWriter`, the heartbeat, the judge's lease and its fold, LISTEN and the
 * reconciliation, the migration map's flush), driven by a synthetic stream instead of live requests: every
 * route gets traffic on every node between two flushes (the worst case for what a fleet writes), a tenth
 * of the routes diverge with one signature and an example now and then, and the map learns one template
 * per route.
 *
 * Reports to the parent over IPC: `{ seen }` when a node first reads a change's reason, and `{ flushes }`
 * (each flush's duration, ms) when told to stop.
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import process from "node:process";
import pino from "pino";
import { FleetEvidence } from "../src/guard/fleet-evidence.ts";
import { systemClock } from "../src/guard/clock.ts";
import { joinFleet } from "../src/fleet/fleet-presence.ts";
import { holdJudgeLease } from "../src/fleet/judge-lease.ts";
import { EvidenceWriter } from "../src/shadow/evidence-writer.ts";
import { openStores } from "../src/store/open-stores.ts";
import { foldWhileJudging } from "../src/wiring/fleet-wiring.ts";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const DATABASE_URL = process.env.DATABASE_URL as string;
const NODES = env("NODES", 1);
/** This process's first node's place in the whole fleet, and the fleet's size: how the stream is spread. */
const FIRST_NODE = env("FIRST_NODE", 0);
const FLEET_NODES = env("FLEET_NODES", NODES);
/**
 * Each route's traffic reaches ten nodes a second, as a load balancer spreads ~10+ requests a second per
 * route: every node sees every route each second up to ten nodes, a tenth of them at a hundred. Every
 * route has news for every fold all the same (what the database takes is the worst case); only an inbox
 * row's size shrinks, and a hundred nodes' streams fit on this machine's two cores.
 */
const STRIDE = Math.max(1, Math.round(FLEET_NODES / 10));
const ROUTES = env("ROUTES", 7);
const FLUSH_MS = env("FLUSH_MS", 1_000);
const FOLD_MS = env("FOLD_MS", 2_000);
const RECONCILE_MS = env("RECONCILE_MS", 5_000);
const INTERVAL_MS = env("INTERVAL_MS", 10_000);
const SHADOW_FLUSH_MS = env("SHADOW_FLUSH_MS", 200);
const logger = pino({ level: "warn" });
const routes = Array.from({ length: ROUTES }, (_, i) => `route-${i}`);
const limits = { examplesPerSignature: 5, examplesPerSignaturePerMinute: 2, signaturesPerRoute: 200, maxAgeDays: 30, announceDivergenceAt: 10 };
const flushes: number[] = [];
/** Each node's stores, to count the round trips they made (`checkouts`). */
const opened: Array<{ checkouts(): { main: number; evidence: number } }> = [];
const stops: Array<() => Promise<void>> = [];
const pauses: Array<() => void> = [];
const gos: Array<() => void> = [];
// How late this process's event loop runs: when it is late, the harness (a hundred nodes on two cores) is
// what a flush waits for, not the database.
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();

async function startNode(index: number): Promise<void> {
  const place = FIRST_NODE + index;
  const nodeId = `sim:${process.pid}:${index}`;
  const stores = await openStores({ dataDir: "unused", databaseUrl: DATABASE_URL, reconcileMs: RECONCILE_MS, outboxMs: FLUSH_MS });
  opened.push(stores);
  const evidence = new FleetEvidence({ store: stores.evidence, nodeId, clock: systemClock, logger });
  const flushTimer = setInterval(() => {
    const started = performance.now();
    void evidence.flush().then(() => flushes.push(performance.now() - started));
  }, FLUSH_MS);
  const writer = new EvidenceWriter(stores.shadows, () => limits, logger, 5_000, SHADOW_FLUSH_MS);
  const presence = await joinFleet(stores.fleet, { nodeId, address: "http://127.0.0.1:0", version: "bench", heartbeatMs: 5_000 }, logger);
  const lease = holdJudgeLease({ store: stores.fleet, nodeId, ttlMs: () => INTERVAL_MS, logger, onGained: () => undefined });
  const stopFolding = foldWhileJudging(stores, () => lease.isJudge(), FOLD_MS, logger);
  // What the rollout service does on a change: read every route's state; a change's reason is reported once.
  const seen = new Set<string>();
  const stopWatching = stores.watchRollouts(() => {
    void stores.rollouts.all().then((records) => {
      const at = Date.now();
      for (const r of records) {
        if (!r.reason.startsWith("bench-") || seen.has(r.reason)) continue;
        seen.add(r.reason);
        process.send?.({ seen: r.reason, at, nodeId });
      }
    }, () => undefined);
  });
  // The synthetic stream: each route once per node a second (a request on each side and a comparison), so
  // that every route has news on every node at each flush: the most a fleet writes, whatever the traffic.
  let tick = 0;
  let traffic: NodeJS.Timeout | undefined;
  let mapFlush: NodeJS.Timeout | undefined;
  // The stream starts when every node of the fleet is up (a node starting on a loaded machine may wait
  // past its connection timeout otherwise).
  gos.push(() => {
    traffic = setInterval(() => {
      tick++;
      for (let r = 0; r < routes.length; r++) {
        if ((r + tick + place) % STRIDE !== 0) continue;
        const routeId = routes[r] as string;
        evidence.request(routeId, "legacy", false, 4);
        evidence.request(routeId, "target", r % 50 === 7, 6);
        const diverges = r % 10 === 3;
        evidence.shadow(routeId, diverges ? "diverge" : "match");
        if (!diverges) writer.count(routeId, "match");
        else if (tick % 10 === index % 10 && writer.wantsExample(routeId, [{ path: "$.price", kind: "changed" }])) {
          writer.push({ routeId, atMs: Date.now(), outcome: "diverge", signatures: [{ path: "$.price", kind: "changed" }], example: { requestId: `${nodeId}-${tick}`, method: "GET", path: `/api/${routeId}/1`, query: "", primary: "legacy", legacyStatus: 200, targetStatus: 200, legacyMs: 4, targetMs: 6, requestHeaders: {}, requestBody: "", legacyBody: '{"price":10}', targetBody: '{"price":"10"}', differences: [] } });
        } else writer.countSigned(routeId, "diverge", { path: "$.price", kind: "changed" });
      }
    }, 1_000);
    // The migration map's flush (map.flushMs, 5 s): what a node learned of each route's template this hour,
    // as TrafficMap hands it to the store.
    mapFlush = setInterval(() => {
      const now = Date.now();
      const hour = now - (now % 3_600_000);
      // The templates of the routes this node saw in the last five seconds.
      const templates = routes.map((routeId, r) => ({ routeId, r, template: `/api/${routeId}/{id}` })).filter(({ r }) => STRIDE <= 5 || (r + tick + place) % STRIDE < 5);
      void stores.map
        .add({
          counts: templates.flatMap(({ template, r }) => [
            { method: "GET", template, bucket: hour, metric: "requests", count: 5 },
            { method: "GET", template, bucket: hour, metric: "legacy", count: 5 },
            { method: "GET", template, bucket: hour, metric: r % 50 === 7 ? "status.5" : "status.2", count: 5 },
            { method: "GET", template, bucket: hour, metric: "le.4", count: 5 },
            { method: "GET", template, bucket: hour, metric: "bytes", count: 500 },
          ]),
          seen: templates.map(({ template, routeId }) => ({ method: "GET", template, routeId, firstSeen: now - 5_000, lastSeen: now, lastLegacyAt: now, lastTargetAt: null })),
          collapsed: [],
        })
        .catch(() => undefined);
    }, 5_000);
  });
  pauses.push(() => {
    clearInterval(traffic);
    clearInterval(mapFlush);
  });
  stops.push(async () => {
    clearInterval(traffic);
    clearInterval(mapFlush);
    clearInterval(flushTimer);
    stopWatching();
    await lease.stop();
    await stopFolding();
    await writer.close();
    await evidence.flush();
    await presence.leave();
    await stores.close();
  });
}

// Started one after another, spread over a second each few nodes, as a fleet rolling out would.
for (let i = 0; i < NODES; i++) await startNode(i);
process.send?.({ ready: NODES });
process.on("message", (message: { stop?: boolean; pause?: boolean; go?: boolean; count?: boolean }) => {
  if (message.go) for (const go of gos) go();
  if (message.pause) {
    for (const pause of pauses) pause();
    process.send?.({ paused: true, loopDelayP99Ms: loopDelay.percentile(99) / 1e6, checkouts: opened.reduce((sum, s) => sum + s.checkouts().main, 0) });
  }
  if (message.count) process.send?.({ checkouts: opened.reduce((sum, s) => sum + s.checkouts().main, 0) });
  if (!message.stop) return;
  void Promise.all(stops.map((stop) => stop().catch(() => undefined))).then(() => {
    process.send?.({ flushes }, () => process.exit(0));
  });
});
