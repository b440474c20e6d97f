import { randomBytes } from "node:crypto";
import type Database from "better-sqlite3";
import type { Logger } from "pino";
import type { RouteConfig } from "../config/schema.ts";
import { watchForeignWrites } from "../store/database.ts";
import { createRolloutRepository, type RolloutRecord, type RolloutRepository } from "../store/rollout-repository.ts";
import { RolloutState } from "./rollout-state.ts";

/** The outcome of an operator's change: the state before and after, or why nothing changed. */
export type ChangeResult =
  | { readonly ok: true; readonly before: RolloutRecord; readonly after: RolloutRecord }
  | { readonly ok: false; readonly reason: "unknown_route" };

/**
 * The live rollout of every route: persisted in SQLite, mirrored in memory for the data plane, kept in
 * step with the config file (`reconcile`) and with other processes sharing the database (within
 * `pollMs`). Every change is audited in the same transaction.
 */
export interface RolloutService {
  readonly state: RolloutState;
  readonly repository: RolloutRepository;
  /** Applies the config file's percentages by the documented rule (a changed file value wins). */
  reconcile(routes: readonly RouteConfig[]): void;
  /** Sets the live percentage; `action` names the change in the audit log (default `set_percent`). */
  setPercent(routeId: string, percent: number, actor: string, reason: string, action?: string): ChangeResult;
  rollback(routeId: string, actor: string, reason: string): ChangeResult;
  /** Draws a new salt: re-buckets every user of the route. */
  reroll(routeId: string, actor: string, reason: string): ChangeResult;
  close(): void;
}

export interface RolloutServiceOptions {
  readonly db: Database.Database;
  readonly logger: Logger;
  /** How often to look for changes made by other processes. Default 250 ms. */
  readonly pollMs?: number;
}

export function createRolloutService({ db, logger, pollMs = 250 }: RolloutServiceOptions): RolloutService {
  const repository = createRolloutRepository(db);
  const state = new RolloutState(repository);
  const stopWatching = watchForeignWrites(
    db,
    () => {
      const changed = state.refresh();
      if (changed.length > 0) logger.info({ routes: changed }, "rollout changed by another process");
    },
    pollMs,
  );

  function apply(routeId: string, change: { percent?: number; salt?: string; action: string }, actor: string, reason: string): ChangeResult {
    const result = repository.change({ routeId, actor, reason, source: "admin", ...change });
    if (!result) return { ok: false, reason: "unknown_route" };
    state.refresh();
    logger.info({ route: routeId, actor, action: change.action, from: result.before.percent, to: result.after.percent, reason }, "rollout changed");
    return { ok: true, ...result };
  }

  return {
    state,
    repository,
    reconcile(routes) {
      const changed = repository.reconcile(
        routes.map((r) => ({ routeId: r.id, percent: r.rollout.percent })),
        "routes.config.ts",
      );
      state.refresh();
      if (changed.length > 0) logger.info({ routes: changed }, "rollout set from routes.config.ts");
    },
    setPercent: (routeId, percent, actor, reason, action = "set_percent") => apply(routeId, { percent, action }, actor, reason),
    rollback: (routeId, actor, reason) => apply(routeId, { percent: 0, action: "rollback" }, actor, reason),
    reroll: (routeId, actor, reason) => apply(routeId, { salt: randomBytes(4).toString("hex"), action: "reroll_salt" }, actor, reason),
    close() {
      stopWatching();
    },
  };
}
