/**
 * An open-loop load at a fixed rate, for latency: requests leave on a schedule (`rate` a second, evenly
 * spaced) whatever the answers do, and each one's latency is counted from when it was due to leave, not
 * from when it left, so a stall is charged to every request it delayed (no coordinated omission, as in
 * wrk2).
 *
 * Why not autocannon's `overallRate`: it lets each connection send its share of a second back to back at
 * the start of the second and then idle, so its latencies are those of a burst at full concurrency,
 * and its histogram counts whole milliseconds, coarser than the differences measured here.
 */
import { Pool } from "undici";
import { benchUser } from "./users.ts";

export interface SteadyResult {
  readonly requests: number;
  readonly errors: number;
  /** Latency percentiles in ms, from each request's scheduled start to the end of its answer. */
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

/** How late the schedule may fall behind before the run gives up: the setup cannot take the rate. */
const GIVE_UP_MS = 10_000;

export async function steadyLoad(url: string, rate: number, seconds: number, connections: number): Promise<SteadyResult> {
  const { origin, pathname, search } = new URL(url);
  const path = pathname + search;
  const pool = new Pool(origin, { connections, pipelining: 1, headersTimeout: GIVE_UP_MS, bodyTimeout: GIVE_UP_MS });
  const total = Math.max(1, Math.floor(rate * seconds));
  const intervalMs = 1000 / rate;
  const latencies = new Float64Array(total);
  let answered = 0;
  let errors = 0;
  let sent = 0;
  const start = performance.now();
  try {
    await new Promise<void>((resolve) => {
      let settled = 0;
      const settle = () => {
        if (++settled === total) resolve();
      };
      const fire = (i: number) => {
        const due = start + i * intervalMs;
        pool.request({ path, method: "GET", headers: { "x-user-id": benchUser(i) } }).then(
          async (response) => {
            await response.body.dump({ limit: 1 << 30 });
            if (response.statusCode >= 400) errors++;
            latencies[answered++] = performance.now() - due;
            settle();
          },
          () => {
            errors++;
            settle();
          },
        );
      };
      // A timer, not a spin: the generator shares the cores with what it measures. Each tick sends what
      // has fallen due since the last one (a few requests at these rates).
      const tick = () => {
        const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
        while (sent < due) fire(sent++);
        if (sent < total) setTimeout(tick, 1);
      };
      tick();
    });
  } finally {
    await pool.close();
  }
  const sorted = latencies.subarray(0, answered).sort();
  const at = (p: number) => (answered === 0 ? NaN : Math.round((sorted[Math.min(answered - 1, Math.floor(p * answered))] as number) * 100) / 100);
  return { requests: answered, errors, p50: at(0.5), p99: at(0.99), p999: at(0.999) };
}
