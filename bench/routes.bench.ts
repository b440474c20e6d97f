import { defineConfig } from "../src/config/define-config.ts";

/**
 * The benchmark's route table: 60 routes shaped like a real monolith's (literals, params, wildcards,
 * methods) so that matching is not trivial, and the measured route among them at 50% rollout, keyed by
 * header. BENCH_SHADOW=1 shadows it (and the large-body route) at 100%; BENCH_ACCESS_LOG=1 logs every
 * request (accessLog.sampleRatio 1); BENCH_TLS_CERT and BENCH_TLS_KEY serve HTTPS and HTTP/2 (by ALPN).
 */
const shadow = process.env.BENCH_SHADOW === "1" ? { shadow: { percent: 100, maxResponseBytes: 4 * 1024 * 1024 } } : {};
const filler = Array.from({ length: 58 }, (_, i) => ({
  id: `filler-${i}`,
  match: { methods: i % 3 === 0 ? ["POST"] : ["GET"], path: i % 5 === 0 ? `/api/v${i % 4}/res${i}/*` : `/api/v${i % 4}/res${i}/:id/sub${i % 7}` },
  target: "target",
  rollout: { percent: (i * 7) % 100 },
}));

/**
 * BENCH_FLUSH_SCALE=N stretches the intervals of the timer-driven store writes (the fleet's evidence
 * deltas, the map's, the shadow's comparison results) N times: `npm run bench:instructions` runs the
 * proxy under valgrind, tens of times slower than natively while timers keep the wall clock, and at the
 * default intervals its windows would count tens of times the writes their requests cause (see
 * bench/instructions.ts).
 */
const flushScale = Number(process.env.BENCH_FLUSH_SCALE ?? 1);
const stretched = flushScale === 1 ? {} : { fleet: { evidenceFlushMs: 1_000 * flushScale }, map: { flushMs: 5_000 * flushScale } };

/**
 * A backend at `url`, or with BENCH_DESTINATIONS=3 three destinations: the same bench backend on 127.0.0.1,
 * .2 and .3 (bench/backend.ts answers on all three), balanced by the proxy as any fleet is.
 */
function destinations(url: string): { url: string } | { urls: string[] } {
  if (process.env.BENCH_DESTINATIONS !== "3") return { url };
  return { urls: ["127.0.0.1", "127.0.0.2", "127.0.0.3"].map((host) => url.replace("127.0.0.1", host)) };
}

export default defineConfig({
  ...stretched,
  shadowing: {
    // 50 connections at 100% keep more than the default 64 sessions open at once (a session outlives its
    // client answer until the shadow's answer is in and compared): the bench raises the cap so that every
    // request is compared, and prints how many were (a shadow skipped is a shadow not measured).
    ...(process.env.BENCH_SHADOW === "1" ? { maxInFlight: 256 } : {}),
    ...(flushScale === 1 ? {} : { evidenceFlushMs: 200 * flushScale }),
  },
  ...(process.env.BENCH_ACCESS_LOG === "1" ? { accessLog: { sampleRatio: 1 } } : {}),
  // BENCH_RECORD=1: the bench starts a recording of bench-items through the admin API (bench/run.ts), sized never to fill.
  // Its queue is written as seldom as the evidence (BENCH_FLUSH_SCALE), for the same reason (bench/instructions.ts).
  ...(process.env.BENCH_RECORD === "1" ? { recording: { maxExchanges: 10_000_000, ...(flushScale === 1 ? {} : { flushMs: 200 * flushScale }) } } : {}),
  ...(process.env.BENCH_TLS_CERT && process.env.BENCH_TLS_KEY ? { server: { tls: { cert: process.env.BENCH_TLS_CERT, key: process.env.BENCH_TLS_KEY } } } : {}),
  backends: {
    legacy: destinations(process.env.LEGACY_URL ?? "http://127.0.0.1:3001"),
    target: destinations(process.env.TARGET_URL ?? "http://127.0.0.1:3001"),
  },
  routes: [
    ...filler,
    { id: "bench-items", match: { methods: ["GET"], path: "/bench/items/:id" }, target: "target", rollout: { percent: 50 }, ...shadow },
    { id: "bench-large", match: { methods: ["GET"], path: "/bench/large/:id" }, target: "target", rollout: { percent: 50 }, ...shadow },
  ],
});
