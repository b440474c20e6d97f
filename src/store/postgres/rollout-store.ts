import type pg from "pg";
import { changedRollout, reconciledRollout, toEntry, toRecord, type AuditEntry, type AuditRow, type NewAuditEntry, type RolloutRecord, type RolloutRow } from "../rollout-repository.ts";
import type { RolloutStore } from "../rollout-store.ts";
import { inTransaction } from "./transaction.ts";

// pg hands BIGINT columns over as text: the audit id is a number again before the shared mapper sees it.
const entryOf = (r: AuditRow & { id: number | string }): AuditEntry => toEntry({ ...r, id: Number(r.id) });

const UPSERT = `INSERT INTO rollout_state (route_id, percent, salt, config_percent, source, changed_by, changed_at, reason)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (route_id) DO UPDATE SET percent = $2, salt = $3, config_percent = $4, source = $5, changed_by = $6, changed_at = $7, reason = $8`;
const upsertValues = (r: RolloutRecord) => [r.routeId, r.percent, r.salt, r.configPercent, r.source, r.changedBy, r.changedAt, r.reason];

/** The channel a rollout change is announced on (LISTEN/NOTIFY), delivered to every node at commit. */
export const ROLLOUT_CHANNEL = "strangler_rollout";

export const INSERT_AUDIT = `INSERT INTO audit_log (at, actor, action, route_id, old_value, new_value, reason, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;
export const auditValues = (e: NewAuditEntry) => [
  e.at,
  e.actor,
  e.action,
  e.routeId,
  e.oldValue === null ? null : JSON.stringify(e.oldValue),
  e.newValue === null ? null : JSON.stringify(e.newValue),
  e.reason,
  e.source,
];

/**
 * Rollout state on PostgreSQL, for a fleet of nodes sharing one migration. Each write takes the route's
 * row lock (`FOR UPDATE`) before reading it, so two nodes changing one route serialise and neither's
 * audit entry describes a state the other overwrote. Reconciling locks the whole table: two nodes
 * starting with the same file apply it once.
 */
export function createPostgresRolloutStore(pool: pg.Pool): RolloutStore {
  const get = async (client: pg.Pool | pg.PoolClient, routeId: string, lock = false) => {
    const { rows } = await client.query<RolloutRow>(`SELECT * FROM rollout_state WHERE route_id = $1${lock ? " FOR UPDATE" : ""}`, [routeId]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  };
  return {
    async all() {
      return (await pool.query<RolloutRow>("SELECT * FROM rollout_state ORDER BY route_id")).rows.map(toRecord);
    },
    get: (routeId) => get(pool, routeId),
    reconcile: (configured, actor) =>
      inTransaction(pool, async (client) => {
        // SHARE ROW EXCLUSIVE conflicts with itself: nodes reconciling at once take turns, and a route
        // new to all of them is inserted once.
        await client.query("LOCK TABLE rollout_state IN SHARE ROW EXCLUSIVE MODE");
        const changed: string[] = [];
        const at = new Date().toISOString();
        for (const { routeId, percent } of configured) {
          const next = reconciledRollout(await get(client, routeId), routeId, percent, actor, at);
          if (!next) continue;
          await client.query(UPSERT, upsertValues(next.after));
          await client.query(INSERT_AUDIT, auditValues(next.audit));
          if (next.moved) changed.push(routeId);
        }
        if (changed.length > 0) await client.query("SELECT pg_notify($1, $2)", [ROLLOUT_CHANNEL, changed.join(",")]);
        return changed;
      }),
    change: (c) =>
      inTransaction(pool, async (client) => {
        const before = await get(client, c.routeId, true);
        if (!before) return undefined;
        const next = changedRollout(before, c, new Date().toISOString());
        await client.query(UPSERT, upsertValues(next.after));
        await client.query(INSERT_AUDIT, auditValues(next.audit));
        await client.query("SELECT pg_notify($1, $2)", [ROLLOUT_CHANNEL, c.routeId]);
        return { before, after: next.after };
      }),
    async audit({ limit, before, routeId }) {
      const { rows } = await pool.query<AuditRow>(
        `SELECT * FROM audit_log WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR route_id = $2) ORDER BY id DESC LIMIT $3`,
        [before ?? null, routeId ?? null, limit],
      );
      return rows.map(entryOf);
    },
    async auditAfter(afterId, limit) {
      const { rows } = await pool.query<AuditRow>("SELECT * FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2", [afterId, limit]);
      return rows.map(entryOf);
    },
    async auditHead() {
      const { rows } = await pool.query<{ id: string | null }>("SELECT max(id) AS id FROM audit_log");
      return Number(rows[0]?.id ?? 0);
    },
    async appendAudit(entry) {
      await pool.query(INSERT_AUDIT, auditValues({ ...entry, at: new Date().toISOString() }));
    },
  };
}
