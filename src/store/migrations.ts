import type Database from "better-sqlite3";

/** One schema change, applied once, in order, inside a transaction. Never edit one that has shipped: add another. */
interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "rollout state and audit log",
    sql: `
      CREATE TABLE rollout_state (
        route_id       TEXT PRIMARY KEY,
        percent        REAL NOT NULL CHECK (percent >= 0 AND percent <= 100),
        salt           TEXT NOT NULL DEFAULT '',
        config_percent REAL NOT NULL,   -- the file's value when last reconciled: a change to it wins
        source         TEXT NOT NULL CHECK (source IN ('config', 'admin')),
        changed_by     TEXT NOT NULL,
        changed_at     TEXT NOT NULL,
        reason         TEXT NOT NULL DEFAULT ''
      );
      CREATE TABLE audit_log (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        at        TEXT NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        route_id  TEXT,
        old_value TEXT,                  -- JSON
        new_value TEXT,                  -- JSON
        reason    TEXT NOT NULL DEFAULT '',
        source    TEXT NOT NULL
      );
      CREATE INDEX audit_log_route ON audit_log (route_id, id);
    `,
  },
];

/** Brings the database to the latest schema. Safe to run from several processes at once. */
export function migrate(db: Database.Database): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  // IMMEDIATE takes the write lock first, so two processes starting together do not both apply a step.
  db.transaction(() => {
    const applied = new Set((db.prepare("SELECT version FROM schema_migrations").all() as Array<{ version: number }>).map((r) => r.version));
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      db.exec(migration.sql);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(migration.version, migration.name, new Date().toISOString());
    }
  }).immediate();
}
