import type pg from "pg";
import { changedMigration, toMigrationRecord, type MigrationRecord, type MigrationRow } from "../migration-repository.ts";
import type { MigrationStore } from "../migration-store.ts";
import { auditValues, INSERT_AUDIT } from "./rollout-store.ts";
import { inTransaction } from "./transaction.ts";

// pg hands BIGINT columns over as text: the step's start is a number again before the shared mapper sees it.
const asNumber = (v: string | number | null) => (v === null ? null : Number(v));
const toRecord = (r: Omit<MigrationRow, "step_started_at" | "awaiting_since"> & { step_started_at: string | number | null; awaiting_since: string | number | null }): MigrationRecord =>
  toMigrationRecord({ ...r, step_started_at: asNumber(r.step_started_at), awaiting_since: asNumber(r.awaiting_since) });

/**
 * Migration state on PostgreSQL. A change reads its row `FOR UPDATE`, so the compare-and-set on the
 * promotion step holds across nodes: of two judges that both saw step 2 end, one takes step 3 and the
 * other finds the row moved and does nothing.
 */
export function createPostgresMigrationStore(pool: pg.Pool): MigrationStore {
  const get = async (client: pg.Pool | pg.PoolClient, routeId: string, lock = false) => {
    const { rows } = await client.query<MigrationRow>(`SELECT * FROM route_migration WHERE route_id = $1${lock ? " FOR UPDATE" : ""}`, [routeId]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  };
  return {
    get: (routeId) => get(pool, routeId),
    async all() {
      return (await pool.query<MigrationRow>("SELECT * FROM route_migration ORDER BY route_id")).rows.map(toRecord);
    },
    async ensure(routeId, state, actor) {
      await pool.query(
        `INSERT INTO route_migration (route_id, state, state_since, state_by, state_reason) VALUES ($1, $2, $3, $4, 'route added') ON CONFLICT (route_id) DO NOTHING`,
        [routeId, state, new Date().toISOString(), actor],
      );
      return (await get(pool, routeId)) as MigrationRecord;
    },
    change: (routeId, c, audit, expected) =>
      inTransaction(pool, async (client) => {
        const before = await get(client, routeId, true);
        if (!before) return undefined;
        const at = new Date().toISOString();
        const after = changedMigration(before, c, expected, at);
        if (!after) return undefined;
        await client.query(
          `UPDATE route_migration SET state = $2, state_since = $3, state_by = $4, state_reason = $5, promotion = $6, step_index = $7, step_started_at = $8,
             awaiting_since = $9, approved_step = $10 WHERE route_id = $1`,
          [routeId, after.state, after.stateSince, after.stateBy, after.stateReason, after.promotion, after.stepIndex, after.stepStartedAt, after.awaitingSince, after.approvedStep],
        );
        await client.query(INSERT_AUDIT, auditValues({ ...audit, at }));
        return after;
      }),
    async setVerdicts(verdicts) {
      if (verdicts.length === 0) return;
      // One statement for every route, in key order (two judges overlapping never deadlock).
      const sorted = [...verdicts].sort((a, b) => (a.routeId < b.routeId ? -1 : a.routeId > b.routeId ? 1 : 0));
      await pool.query(
        "UPDATE route_migration m SET last_verdict = v.verdict FROM unnest($1::text[], $2::text[]) AS v(route_id, verdict) WHERE m.route_id = v.route_id",
        [sorted.map((v) => v.routeId), sorted.map((v) => JSON.stringify(v.verdict))],
      );
    },
    async retired() {
      return (await pool.query<{ route_id: string }>("SELECT route_id FROM route_migration WHERE state = 'retired' ORDER BY route_id")).rows.map((r) => r.route_id);
    },
  };
}
