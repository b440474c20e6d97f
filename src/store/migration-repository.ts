import type Database from "better-sqlite3";
import type { NewAuditEntry } from "./rollout-repository.ts";

/** Where a route is in its migration. */
export type MigrationState = "legacy" | "shadowing" | "canary" | "migrated" | "retired" | "halted" | "paused";
export type PromotionStatus = "off" | "running" | "paused" | "done";

export interface MigrationRecord {
  readonly routeId: string;
  readonly state: MigrationState;
  readonly stateSince: string;
  readonly stateBy: string;
  readonly stateReason: string;
  readonly promotion: PromotionStatus;
  readonly stepIndex: number | null;
  /** When the current step began, ms since the epoch by the proxy's clock. */
  readonly stepStartedAt: number | null;
  /** Since when the promotion waits for a yes before its next step (an approval gate), ms; null when it does not wait. */
  readonly awaitingSince: number | null;
  /** The step index a person or a confirming webhook said yes to; null before any. */
  readonly approvedStep: number | null;
  readonly lastVerdict: unknown;
}

export type MigrationChange = Partial<Pick<MigrationRecord, "state" | "promotion" | "stepIndex" | "stepStartedAt" | "awaitingSince" | "approvedStep">> & {
  readonly actor: string;
  readonly reason: string;
};

export interface MigrationRow {
  route_id: string;
  state: MigrationState;
  state_since: string;
  state_by: string;
  state_reason: string;
  promotion: PromotionStatus;
  step_index: number | null;
  step_started_at: number | null;
  awaiting_since: number | null;
  approved_step: number | null;
  last_verdict: string | null;
}

export const toMigrationRecord = (r: MigrationRow): MigrationRecord => ({
  routeId: r.route_id,
  state: r.state,
  stateSince: r.state_since,
  stateBy: r.state_by,
  stateReason: r.state_reason,
  promotion: r.promotion,
  stepIndex: r.step_index,
  stepStartedAt: r.step_started_at,
  awaitingSince: r.awaiting_since,
  approvedStep: r.approved_step,
  lastVerdict: r.last_verdict === null ? null : (JSON.parse(r.last_verdict) as unknown),
});

/** What a compare-and-set expects of the row: the step it saw, and/or the state. */
export type MigrationExpectation = Partial<Pick<MigrationRecord, "stepIndex" | "stepStartedAt" | "state" | "awaitingSince">>;

/**
 * A change applied to a route's migration row, the same for every store: undefined when the row no longer
 * holds what `expected` names (another process or node got there first: compare-and-set); the state's
 * since/by/reason move only when the state itself changes.
 */
export function changedMigration(before: MigrationRecord, c: MigrationChange, expected: MigrationExpectation | undefined, at: string): MigrationRecord | undefined {
  if (expected) {
    for (const key of ["stepIndex", "stepStartedAt", "state", "awaitingSince"] as const) {
      if (key in expected && before[key] !== expected[key]) return undefined;
    }
  }
  const stateChanged = c.state !== undefined && c.state !== before.state;
  return {
    ...before,
    state: c.state ?? before.state,
    stateSince: stateChanged ? at : before.stateSince,
    stateBy: stateChanged ? c.actor : before.stateBy,
    stateReason: stateChanged ? c.reason : before.stateReason,
    promotion: c.promotion ?? before.promotion,
    stepIndex: c.stepIndex === undefined ? before.stepIndex : c.stepIndex,
    stepStartedAt: c.stepStartedAt === undefined ? before.stepStartedAt : c.stepStartedAt,
    awaitingSince: c.awaitingSince === undefined ? before.awaitingSince : c.awaitingSince,
    approvedStep: c.approvedStep === undefined ? before.approvedStep : c.approvedStep,
  };
}

/** Migration state and promotion progress per route, with compare-and-set so processes never double-step. */
export interface MigrationRepository {
  get(routeId: string): MigrationRecord | undefined;
  /** Every route's row, in one read (the judge's tick). */
  all(): MigrationRecord[];
  /** Creates the row of a route seen for the first time. */
  ensure(routeId: string, state: MigrationState, actor: string): MigrationRecord;
  /**
   * Applies `change` if the row still has `expected` step (compare-and-set), appending `audit` in the
   * same transaction. Returns the new record, or undefined when another process got there first.
   */
  change(routeId: string, change: MigrationChange, audit: Omit<NewAuditEntry, "at">, expected?: MigrationExpectation): MigrationRecord | undefined;
  setVerdicts(verdicts: ReadonlyArray<{ readonly routeId: string; readonly verdict: unknown }>): void;
  /** Ids of the routes in state `retired`. */
  retired(): string[];
}

export function createMigrationRepository(db: Database.Database, appendAudit: (entry: Omit<NewAuditEntry, "at">) => void): MigrationRepository {
  const select = db.prepare("SELECT * FROM route_migration WHERE route_id = ?");
  const selectAll = db.prepare("SELECT * FROM route_migration ORDER BY route_id");
  const selectRetired = db.prepare("SELECT route_id FROM route_migration WHERE state = 'retired' ORDER BY route_id").pluck();
  const get = (routeId: string) => {
    const row = select.get(routeId) as MigrationRow | undefined;
    return row ? toMigrationRecord(row) : undefined;
  };
  const change = db.transaction(
    (routeId: string, c: MigrationChange, audit: Omit<NewAuditEntry, "at">, expected?: MigrationExpectation) => {
      const before = get(routeId);
      if (!before) return undefined;
      const after = changedMigration(before, c, expected, new Date().toISOString());
      if (!after) return undefined;
      db.prepare(
        `UPDATE route_migration SET state = @state, state_since = @since, state_by = @by, state_reason = @reason,
           promotion = @promotion, step_index = @step, step_started_at = @started, awaiting_since = @awaiting, approved_step = @approved
         WHERE route_id = @route`,
      ).run({
        route: routeId,
        state: after.state,
        since: after.stateSince,
        by: after.stateBy,
        reason: after.stateReason,
        promotion: after.promotion,
        step: after.stepIndex,
        started: after.stepStartedAt,
        awaiting: after.awaitingSince,
        approved: after.approvedStep,
      });
      appendAudit(audit);
      return get(routeId);
    },
  );
  return {
    get,
    all: () => (selectAll.all() as MigrationRow[]).map(toMigrationRecord),
    retired: () => selectRetired.all() as string[],
    ensure(routeId, state, actor) {
      db.prepare(
        `INSERT INTO route_migration (route_id, state, state_since, state_by, state_reason) VALUES (?, ?, ?, ?, 'route added')
         ON CONFLICT (route_id) DO NOTHING`,
      ).run(routeId, state, new Date().toISOString(), actor);
      return get(routeId) as MigrationRecord;
    },
    change: (routeId, c, audit, expected) => change.immediate(routeId, c, audit, expected),
    setVerdicts: db.transaction((verdicts: ReadonlyArray<{ readonly routeId: string; readonly verdict: unknown }>) => {
      const update = db.prepare("UPDATE route_migration SET last_verdict = ? WHERE route_id = ?");
      for (const { routeId, verdict } of verdicts) update.run(JSON.stringify(verdict), routeId);
    }),
  };
}
