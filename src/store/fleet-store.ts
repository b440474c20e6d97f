import type Database from "better-sqlite3";

/** A proxy node (or, on one host, a worker process) as the fleet sees it. */
export interface FleetNode {
  readonly nodeId: string;
  readonly address: string;
  readonly version: string;
  readonly startedAt: number;
  readonly lastSeen: number;
}

/** A lease as the store sees it: who holds it, and for how much longer by the store's own clock (≤ 0: expired). */
export interface LeaseView {
  readonly holder: string;
  readonly remainingMs: number;
}

/**
 * The fleet's registry and the one judge's lease. Heartbeat times are ms since the epoch, passed in (the
 * caller's clock). The lease is timed by the store's clock alone (PostgreSQL's `clock_timestamp()`, the
 * host's for SQLite): nodes whose clocks disagree by minutes still agree on who holds it. Pinned by
 * test/contract/fleet-store.contract.test.ts on both stores.
 */
export interface FleetStore {
  /** Records that `node` is alive at `now` (inserting it the first time). */
  heartbeat(node: Omit<FleetNode, "lastSeen">, now: number): Promise<void>;
  /** Nodes seen since `since`, oldest start first. */
  nodes(since: number): Promise<FleetNode[]>;
  /** Forgets a node (on a clean shutdown). */
  leave(nodeId: string): Promise<void>;
  /**
   * Takes or renews the lease `name` for `holder` for `ttlMs` from the store's now, when it is free,
   * expired or already the holder's. Returns the holder after the attempt (`holder` itself when it holds
   * the lease) and what is left of the lease.
   */
  acquire(name: string, holder: string, ttlMs: number): Promise<LeaseView>;
  /** Gives the lease up, if `holder` holds it, so another can take it at once. */
  release(name: string, holder: string): Promise<void>;
  /** The lease's holder and what is left of it (possibly expired), or undefined when nobody took it. */
  lease(name: string): Promise<LeaseView | undefined>;
}

interface NodeRow {
  node_id: string;
  address: string;
  version: string;
  started_at: number | string;
  last_seen: number | string;
}

export const toNode = (r: NodeRow): FleetNode => ({ nodeId: r.node_id, address: r.address, version: r.version, startedAt: Number(r.started_at), lastSeen: Number(r.last_seen) });

/** The fleet store in the SQLite file: the processes of one host (`--workers N`) form the fleet, on the host's one clock. */
export function createSqliteFleetStore(db: Database.Database, clock: () => number = Date.now): FleetStore {
  const beat = db.prepare(
    `INSERT INTO fleet_nodes (node_id, address, version, started_at, last_seen) VALUES (@nodeId, @address, @version, @startedAt, @now)
     ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, version = excluded.version, last_seen = excluded.last_seen`,
  );
  // One statement, so the check and the take are atomic under SQLite's write lock.
  const take = db.prepare(
    `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @expires)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at <= @now`,
  );
  const read = db.prepare("SELECT holder, expires_at FROM leases WHERE name = ?");
  return {
    async heartbeat(node, now) {
      beat.run({ ...node, now });
    },
    async nodes(since) {
      return (db.prepare("SELECT * FROM fleet_nodes WHERE last_seen >= ? ORDER BY started_at, node_id").all(since) as NodeRow[]).map(toNode);
    },
    async leave(nodeId) {
      db.prepare("DELETE FROM fleet_nodes WHERE node_id = ?").run(nodeId);
    },
    async acquire(name, holder, ttlMs) {
      const now = clock();
      take.run({ name, holder, expires: now + ttlMs, now });
      const row = read.get(name) as { holder: string; expires_at: number };
      return { holder: row.holder, remainingMs: row.expires_at - now };
    },
    async release(name, holder) {
      db.prepare("DELETE FROM leases WHERE name = ? AND holder = ?").run(name, holder);
    },
    async lease(name) {
      const row = read.get(name) as { holder: string; expires_at: number } | undefined;
      return row && { holder: row.holder, remainingMs: row.expires_at - clock() };
    },
  };
}
