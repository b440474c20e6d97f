import type { Logger } from "pino";
import type { Clock } from "../guard/clock.ts";
import type { MigrationService } from "../guard/migration-service.ts";
import { joinFleet, type FleetPresence } from "../fleet/fleet-presence.ts";
import { holdJudgeLease, JUDGE_LEASE, type JudgeLease } from "../fleet/judge-lease.ts";
import type { Stores } from "../store/open-stores.ts";
import type { EvidenceRetention } from "../store/shadow-repository.ts";
import { PACKAGE_VERSION } from "../version.ts";
import type { LiveState } from "./live-state.ts";

/** What the admin API tells of the fleet: the store, the judge, and every node seen. */
export interface FleetView {
  readonly store: "sqlite" | "postgres";
  readonly judge: string | null;
  readonly nodes: ReadonlyArray<Awaited<ReturnType<FleetPresence["nodes"]>>[number] & { readonly judge: boolean }>;
}

/** This node's place in the fleet, once its data plane listens. */
export interface FleetWiring {
  view(): Promise<FleetView>;
  /**
   * True while this node holds the judge's lease: it judges guards and promotion, prunes, and delivers
   * webhooks. Without the guard timer (tests that drive guards themselves) no lease is held, and this
   * process counts as the store's only one.
   */
  isJudge(): boolean;
  /** Stops judging and pruning (first, while the store is still open). */
  stopJudging(): Promise<void>;
  /** Leaves the fleet (its presence row goes). */
  leave(): Promise<void>;
}

/** The fleet's view before this node has joined: the store and the judge, no presence of its own yet. */
export async function fleetViewBeforeJoining(stores: Stores): Promise<FleetView> {
  return { store: stores.kind, judge: judgeOf(await stores.fleet.lease(JUDGE_LEASE)), nodes: [] };
}

/** An expired lease names nobody: its holder stopped renewing it, and the next try hands it on. */
function judgeOf(lease: { readonly holder: string; readonly remainingMs: number } | undefined): string | null {
  return lease && lease.remainingMs > 0 ? lease.holder : null;
}

/**
 * Joins the fleet (a heartbeat row), and, unless tests drive the guards themselves, competes for the
 * judge's lease: one judge for the fleet (and for the workers of a host) runs guards, promotion and the
 * pruning of old evidence.
 */
export async function wireFleet(deps: {
  readonly stores: Stores;
  readonly nodeId: string;
  readonly address: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly live: LiveState;
  readonly migrations: MigrationService;
  readonly guardTimer: boolean;
  /** This node's wall clock, for its heartbeats and for timing the lease it is granted. */
  readonly wallClock: () => number;
}): Promise<FleetWiring> {
  const { stores, nodeId, logger, live } = deps;
  const config = live.config;
  const presence = await joinFleet(stores.fleet, { nodeId, address: deps.address, version: PACKAGE_VERSION, heartbeatMs: config.fleet.heartbeatMs }, logger, deps.wallClock);
  let lease: JudgeLease | undefined;
  let guards: { stop(): void; judgeNow(): void } | undefined;
  if (deps.guardTimer) {
    guards = deps.migrations.schedule(() => live.config.guards.intervalMs, () => lease?.isJudge() ?? false);
    lease = holdJudgeLease({ store: stores.fleet, nodeId, ttlMs: () => live.config.guards.intervalMs, logger, onGained: () => guards?.judgeNow(), clock: deps.wallClock });
  }
  // The fleet's and the map's retention are read at start-up (they bound what the evidence and the map
  // hold in memory too); the history's follows shadowing.retentionDays on reload, as the evidence's pruning does.
  const retention = {
    evidenceMs: config.fleet.evidenceRetentionMs,
    mapMs: config.map.retentionMs,
    historyMs: () => live.config.shadowing.retentionDays * 86_400_000,
    recordingsMs: () => live.config.recording.retentionDays * 86_400_000,
  };
  const judging = () => lease?.isJudge() ?? !deps.guardTimer;
  const stopPruning = pruneEvidence(stores, () => lease?.isJudge() ?? false, deps.clock, retention, logger, () => shadowRetention(live));
  const stopFolding = foldWhileJudging(stores, judging, config.fleet.foldMs, logger);
  return {
    async view() {
      const [nodes, judgeLease] = await Promise.all([presence.nodes(), stores.fleet.lease(JUDGE_LEASE)]);
      const judge = judgeOf(judgeLease);
      return { store: stores.kind, judge, nodes: nodes.map((n) => ({ ...n, judge: n.nodeId === judge })) };
    },
    isJudge: () => lease?.isJudge() ?? true,
    async stopJudging() {
      guards?.stop();
      stopPruning();
      await stopFolding();
      await lease?.stop();
    },
    leave: () => presence.leave(),
  };
}

/** The shadow evidence's retention as the live config says it (the shape the shadow store prunes by). */
function shadowRetention(live: LiveState): EvidenceRetention {
  const s = live.config.shadowing;
  return { examplesPerSignature: s.examplesPerSignature, signaturesPerRoute: s.signaturesPerRoute, maxAgeDays: s.retentionDays, announceDivergenceAt: s.announceDivergenceAt };
}

/**
 * The judge folds the nodes' inbox (PostgreSQL: src/store/postgres/fleet-inbox.ts) every `foldMs`, one
 * fold at a time; a fold that fails is logged once until one succeeds, and its rows wait for the next.
 * Without the guard timer (tests that drive guards themselves) every process folds: folds of two
 * processes take disjoint rows. Returns the stop function, which folds once more (while judging).
 */
export function foldWhileJudging(stores: Stores, isJudge: () => boolean, foldMs: number, logger: Logger): () => Promise<void> {
  if (stores.kind !== "postgres") return async () => undefined;
  let failing = false;
  let folding: Promise<void> | undefined;
  const fold = () =>
    (folding ??= stores
      .fold()
      .then(() => {
        if (failing) logger.info("the fleet's inbox is folded again");
        failing = false;
      })
      .catch((error: Error) => {
        if (!failing) logger.warn({ err: error.message }, "could not fold the fleet's inbox; its rows wait for the next fold");
        failing = true;
      })
      .finally(() => (folding = undefined)));
  const timer = setInterval(() => {
    if (isJudge()) void fold();
  }, foldMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await folding;
    if (isJudge()) await fold();
  };
}

/**
 * The judge deletes stored evidence, traffic history, map counts and stopped recordings past their retention, once a minute.
 * The traffic history is kept as long as shadow outcomes (`shadowing.retentionDays`): the dashboard
 * charts them side by side. Returns the stop function.
 */
function pruneEvidence(stores: Stores, isJudge: () => boolean, clock: Clock, retention: { evidenceMs: number; mapMs: number; historyMs: () => number; recordingsMs: () => number }, logger: Logger, shadows: () => EvidenceRetention): () => void {
  const timer = setInterval(() => {
    if (!isJudge()) return;
    const warn = (error: Error) => logger.warn({ err: error.message }, "could not prune old evidence");
    stores.evidence.prune(clock.now() - retention.evidenceMs).catch(warn);
    stores.evidence.pruneHistory(Math.floor((clock.now() - retention.historyMs()) / 60_000)).catch(warn);
    stores.map.prune(clock.now() - retention.mapMs).catch(warn);
    stores.recordings.prune(clock.now() - retention.recordingsMs()).catch(warn);
    // Where the nodes' shadow writers do not prune (PostgreSQL: one scan for the fleet, not one per node).
    if (stores.shadows.foldedByJudge) stores.shadows.prune(shadows()).catch(warn);
  }, 60_000);
  timer.unref();
  return () => clearInterval(timer);
}
