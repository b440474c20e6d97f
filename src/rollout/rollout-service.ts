import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { RouteConfig } from "../config/schema.ts";
import type { RolloutRecord } from "../store/rollout-repository.ts";
import type { RolloutStore } from "../store/rollout-store.ts";
import { RolloutState } from "./rollout-state.ts";

/** The outcome of an operator's change: the state before and after, or why nothing changed. */
export type ChangeResult =
  | { readonly ok: true; readonly before: RolloutRecord; readonly after: RolloutRecord }
  | { readonly ok: false; readonly reason: "unknown_route" };

/**
 * The live rollout of every route: persisted in the store, mirrored in memory for the data plane, kept in
 * step with the config file (`reconcile`) and with other processes or nodes sharing the store (through
 * `watch`). Every change is audited in the same transaction.
 */
export interface RolloutService {
  readonly state: RolloutState;
  readonly store: RolloutStore;
  /** Applies the config file's percentages by the documented rule (a changed file value wins). */
  reconcile(routes: readonly RouteConfig[]): Promise<void>;
  /** Sets the live percentage; `action` names the change in the audit log (default `set_percent`). */
  setPercent(routeId: string, percent: number, actor: string, reason: string, action?: string): Promise<ChangeResult>;
  rollback(routeId: string, actor: string, reason: string): Promise<ChangeResult>;
  /** Draws a new salt: re-buckets every user of the route. */
  reroll(routeId: string, actor: string, reason: string): Promise<ChangeResult>;
  close(): void;
}

export interface RolloutServiceOptions {
  readonly store: RolloutStore;
  readonly logger: Logger;
  /**
   * Calls back when another process or node may have written (SQLite: `watchForeignWrites`); returns its
   * stop function. Without it, only this process's own writes are seen.
   */
  readonly watch?: (onForeignChange: () => void) => () => void;
}

/** Creates the service and reads the store's current state into memory. */
export async function createRolloutService({ store, logger, watch }: RolloutServiceOptions): Promise<RolloutService> {
  const state = new RolloutState(store);
  await state.refresh();
  const stopWatching =
    watch?.(() => {
      state.refresh().then(
        (changed) => {
          if (changed.length > 0) logger.info({ routes: changed }, "rollout changed by another process");
        },
        (error: Error) => logger.error({ err: error.message }, "could not read the rollout state"),
      );
    }) ?? (() => undefined);

  async function apply(routeId: string, change: { percent?: number; salt?: string; action: string }, actor: string, reason: string): Promise<ChangeResult> {
    const result = await store.change({ routeId, actor, reason, source: "admin", ...change });
    if (!result) return { ok: false, reason: "unknown_route" };
    await state.refresh();
    logger.info({ route: routeId, actor, action: change.action, from: result.before.percent, to: result.after.percent, reason }, "rollout changed");
    return { ok: true, ...result };
  }

  return {
    state,
    store,
    async reconcile(routes) {
      const changed = await store.reconcile(
        routes.map((r) => ({ routeId: r.id, percent: r.rollout.percent })),
        "routes.config.ts",
      );
      await state.refresh();
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
