import type { Logger } from "pino";
import type { FleetStore } from "../store/fleet-store.ts";

/** The lease whose holder runs the guard and promotion loop for the whole fleet. */
export const JUDGE_LEASE = "judge";

/** This node's claim on the judge's lease. */
export interface JudgeLease {
  /** True while this node holds an unexpired lease (the store's grant, counted on this node's clock): it alone judges. */
  isJudge(): boolean;
  /** Gives the lease up (a clean shutdown), so another node judges at once rather than after expiry. */
  stop(): Promise<void>;
}

export interface JudgeLeaseOptions {
  readonly store: FleetStore;
  readonly nodeId: string;
  /** How long a taken lease lasts; the holder renews it every third of this, the others try as often. */
  readonly ttlMs: () => number;
  readonly logger: Logger;
  /** Called when this node becomes the judge, so it judges at once instead of waiting a whole interval. */
  readonly onGained?: () => void;
  readonly clock?: () => number;
}

/**
 * One judge for the fleet: every node tries to take or renew the lease every `ttlMs / 3`, and exactly
 * one holds it at a time. When the judge dies, its lease runs out within `ttlMs` and another node takes
 * it at its next try, so judging resumes within `ttlMs × 4/3`. The lease only saves work and keeps one
 * voice in the audit log: steps stay compare-and-set, so even two judges (clocks far apart, a paused
 * process waking up) never take one step twice.
 */
export function holdJudgeLease(options: JudgeLeaseOptions): JudgeLease {
  const clock = options.clock ?? Date.now;
  let heldUntil = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failing = false;
  let inFlight: Promise<void> = Promise.resolve();
  const attempt = async () => {
    const ttl = options.ttlMs();
    // The lease is counted from before the round trip: this node stops judging no later than the store expires it.
    const startedAt = clock();
    try {
      const { holder, remainingMs } = await options.store.acquire(JUDGE_LEASE, options.nodeId, ttl);
      const was = heldUntil > clock();
      // What the store grants, measured on this node's clock from before the round trip: only a duration
      // crosses between clocks, so one minutes off neither stretches the lease nor cuts it short.
      heldUntil = holder === options.nodeId ? startedAt + Math.min(ttl, remainingMs) : 0;
      failing = false;
      if (!was && heldUntil > 0 && !stopped) {
        options.logger.info({ node: options.nodeId }, "this node is now the fleet's judge (guards and promotion)");
        options.onGained?.();
      }
    } catch (error) {
      // Keep what we had: a lease held stays valid until its expiry, then this node stops judging by itself.
      if (!failing) options.logger.warn({ err: (error as Error).message }, "could not renew the judge's lease");
      failing = true;
    }
    if (!stopped) {
      timer = setTimeout(() => (inFlight = attempt()), Math.max(10, Math.floor(options.ttlMs() / 3)));
      timer.unref();
    }
  };
  inFlight = attempt();
  return {
    isJudge: () => !stopped && clock() < heldUntil,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight; // an attempt under way may be taking the lease: give it up after it
      if (heldUntil > clock()) await options.store.release(JUDGE_LEASE, options.nodeId).catch(() => undefined);
      heldUntil = 0;
    },
  };
}
