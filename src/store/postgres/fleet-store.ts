import type pg from "pg";
import { toNode, type FleetStore } from "../fleet-store.ts";

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
    async acquire(name, holder, now, ttlMs) {
      // One statement: the row lock of ON CONFLICT makes the check and the take atomic across nodes.
      await pool.query(
        `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
           WHERE leases.holder = excluded.holder OR leases.expires_at <= $4`,
        [name, holder, now + ttlMs, now],
      );
      const { rows } = await pool.query<{ holder: string; expires_at: string }>("SELECT holder, expires_at FROM leases WHERE name = $1", [name]);
      const row = rows[0] as { holder: string; expires_at: string };
      return { holder: row.holder, expiresAt: Number(row.expires_at) };
    },
    async release(name, holder) {
      await pool.query("DELETE FROM leases WHERE name = $1 AND holder = $2", [name, holder]);
    },
    async lease(name) {
      const { rows } = await pool.query<{ holder: string; expires_at: string }>("SELECT holder, expires_at FROM leases WHERE name = $1", [name]);
      const row = rows[0];
      return row && { holder: row.holder, expiresAt: Number(row.expires_at) };
    },
  };
}
