import type pg from "pg";
import { toNode, type FleetStore, type LeaseView } from "../fleet-store.ts";

/** The database's clock, in ms since the epoch: `clock_timestamp()` moves within a transaction, `now()` does not. */
const NOW_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/** The fleet store on PostgreSQL: every node of the fleet, whatever host it runs on. */
export function createPostgresFleetStore(pool: pg.Pool): FleetStore {
  return {
    async heartbeat(node, now) {
      await pool.query(
        `INSERT INTO fleet_nodes (node_id, address, version, started_at, last_seen) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, version = excluded.version, last_seen = excluded.last_seen`,
        [node.nodeId, node.address, node.version, node.startedAt, now],
      );
    },
    async nodes(since) {
      return (await pool.query("SELECT * FROM fleet_nodes WHERE last_seen >= $1 ORDER BY started_at, node_id", [since])).rows.map(toNode);
    },
    async leave(nodeId) {
      await pool.query("DELETE FROM fleet_nodes WHERE node_id = $1", [nodeId]);
    },
    async acquire(name, holder, ttlMs) {
      // One statement, timed by the database's clock alone: the row lock of ON CONFLICT makes the check and
      // the take atomic across nodes, and no node's clock (minutes off, maybe) decides whether it expired.
      await pool.query(
        `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, ${NOW_MS} + $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
           WHERE leases.holder = excluded.holder OR leases.expires_at <= ${NOW_MS}`,
        [name, holder, ttlMs],
      );
      return (await this.lease(name)) as LeaseView;
    },
    async release(name, holder) {
      await pool.query("DELETE FROM leases WHERE name = $1 AND holder = $2", [name, holder]);
    },
    async lease(name) {
      const { rows } = await pool.query<{ holder: string; remaining: string }>(`SELECT holder, expires_at - ${NOW_MS} AS remaining FROM leases WHERE name = $1`, [name]);
      const row = rows[0];
      return row && { holder: row.holder, remainingMs: Number(row.remaining) };
    },
  };
}
