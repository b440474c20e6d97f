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
  {
    version: 2,
    name: "shadow comparison evidence",
    sql: `
      CREATE TABLE shadow_signatures (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        route_id      TEXT NOT NULL,
        path          TEXT NOT NULL,
        kind          TEXT NOT NULL,
        count         INTEGER NOT NULL,
        first_seen    TEXT NOT NULL,
        last_seen     TEXT NOT NULL,
        status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'fixed', 'accepted')),
        status_reason TEXT NOT NULL DEFAULT '',
        UNIQUE (route_id, path, kind)
      );
      CREATE TABLE shadow_examples (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        signature_id    INTEGER NOT NULL,
        at              TEXT NOT NULL,
        request_id      TEXT NOT NULL,
        method          TEXT NOT NULL,
        path            TEXT NOT NULL,
        query           TEXT NOT NULL,
        primary_side    TEXT NOT NULL,
        legacy_status   INTEGER,
        target_status   INTEGER,
        legacy_ms       REAL NOT NULL,
        target_ms       REAL NOT NULL,
        request_headers TEXT NOT NULL,   -- JSON, redacted
        legacy_body     TEXT NOT NULL,   -- redacted, truncated
        target_body     TEXT NOT NULL,
        differences     TEXT NOT NULL    -- JSON
      );
      CREATE INDEX shadow_examples_signature ON shadow_examples (signature_id, id);
      CREATE TABLE shadow_outcomes (
        route_id TEXT NOT NULL,
        minute   INTEGER NOT NULL,       -- minutes since the epoch
        outcome  TEXT NOT NULL,
        count    INTEGER NOT NULL,
        PRIMARY KEY (route_id, minute, outcome)
      );
      CREATE TABLE shadow_noise (
        route_id    TEXT NOT NULL,
        path        TEXT NOT NULL,
        occurrences INTEGER NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('learned', 'confirmed', 'rejected')),
        last_seen   TEXT NOT NULL,
        PRIMARY KEY (route_id, path)
      );
      CREATE TABLE shadow_noise_samples (route_id TEXT PRIMARY KEY, samples INTEGER NOT NULL);
    `,
  },
  {
    version: 3,
    name: "migration state and promotion",
    sql: `
      CREATE TABLE route_migration (
        route_id        TEXT PRIMARY KEY,
        state           TEXT NOT NULL CHECK (state IN ('legacy', 'shadowing', 'canary', 'migrated', 'retired', 'halted', 'paused')),
        state_since     TEXT NOT NULL,
        state_by        TEXT NOT NULL,
        state_reason    TEXT NOT NULL DEFAULT '',
        promotion       TEXT NOT NULL DEFAULT 'off' CHECK (promotion IN ('off', 'running', 'paused', 'done')),
        step_index      INTEGER,
        step_started_at INTEGER,         -- ms since the epoch, by the proxy's clock
        last_verdict    TEXT             -- JSON: the last guard and promotion verdicts
      );
    `,
  },
  {
    version: 4,
    name: "fleet nodes and the judge's lease",
    sql: `
      CREATE TABLE fleet_nodes (
        node_id    TEXT PRIMARY KEY,
        address    TEXT NOT NULL,
        version    TEXT NOT NULL,
        started_at INTEGER NOT NULL,     -- ms since the epoch
        last_seen  INTEGER NOT NULL
      );
      CREATE TABLE leases (
        name       TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        expires_at INTEGER NOT NULL      -- ms since the epoch, by the holder's clock
      );
    `,
  },
  {
    version: 5,
    name: "fleet evidence in time buckets",
    sql: `
      CREATE TABLE evidence_counts (
        node_id  TEXT NOT NULL,
        route_id TEXT NOT NULL,
        bucket   INTEGER NOT NULL,       -- the bucket's start, ms since the epoch
        metric   TEXT NOT NULL,          -- e.g. target.requests, target.le.4, compared (see evidence-counts.ts)
        count    INTEGER NOT NULL,
        PRIMARY KEY (route_id, bucket, metric, node_id)
      );
    `,
  },
  {
    version: 6,
    name: "the migration map: the monolith's endpoints learned from its traffic",
    sql: `
      CREATE TABLE map_counts (
        method   TEXT NOT NULL,
        template TEXT NOT NULL,          -- e.g. /api/users/:id, or (overflow)
        bucket   INTEGER NOT NULL,       -- the hour's start, ms since the epoch
        metric   TEXT NOT NULL,          -- requests, legacy, target, status.2, le.4, bytes (see map-store.ts)
        count    INTEGER NOT NULL,
        PRIMARY KEY (method, template, bucket, metric)
      );
      CREATE TABLE map_templates (
        method         TEXT NOT NULL,
        template       TEXT NOT NULL,
        route_id       TEXT,             -- the route that last claimed it, null for the monolith's own
        first_seen     INTEGER NOT NULL,
        last_seen      INTEGER NOT NULL,
        last_legacy_at INTEGER,          -- the last time the monolith answered it
        last_target_at INTEGER,
        PRIMARY KEY (method, template)
      );
      CREATE INDEX map_templates_route ON map_templates (route_id);
      CREATE TABLE map_collapsed (prefix TEXT PRIMARY KEY);
    `,
  },
  {
    version: 7,
    name: "finer latency buckets: histogram counts stored under the old bounds are dropped",
    sql: `
      DELETE FROM evidence_counts WHERE metric LIKE '%.le.%';
      DELETE FROM map_counts WHERE metric LIKE 'le.%';
    `,
  },
  {
    version: 8,
    name: "per-minute traffic history for the dashboard's charts, kept as long as shadow outcomes",
    sql: `
      CREATE TABLE traffic_minutes (
        route_id TEXT NOT NULL,
        minute   INTEGER NOT NULL,       -- minutes since the epoch
        metric   TEXT NOT NULL,          -- legacy.requests, legacy.errors, legacy.le.<i>, the same for target
        count    INTEGER NOT NULL,
        PRIMARY KEY (route_id, minute, metric)
      );
    `,
  },
  {
    version: 9,
    // Examples stored before kept query strings, API-key headers and non-JSON text as they came: they
    // are deleted rather than trusted (their signatures and counts stay; new examples come with traffic).
    name: "stored examples redacted in full: the request body kept; examples stored before (query strings, API keys and non-JSON text unredacted) deleted",
    sql: `
      DELETE FROM shadow_examples;
      ALTER TABLE shadow_examples ADD COLUMN request_body TEXT NOT NULL DEFAULT '';   -- redacted, truncated
    `,
  },
  {
    version: 10,
    name: "the store's own secrets (the pseudonyms' key), made on first use",
    sql: `
      CREATE TABLE store_secrets (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
      );
    `,
  },
  {
    version: 11,
    name: "recordings of a route's exchanges with the monolith, redacted, for replay",
    sql: `
      CREATE TABLE recordings (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        route_id      TEXT NOT NULL,
        started_at    INTEGER NOT NULL,  -- ms since the epoch
        stopped_at    INTEGER,           -- null while it records
        stop_reason   TEXT,
        rate          REAL NOT NULL,
        max_exchanges INTEGER NOT NULL,
        started_by    TEXT NOT NULL,
        reason        TEXT NOT NULL,
        exchanges     INTEGER NOT NULL DEFAULT 0,
        truncated     INTEGER NOT NULL DEFAULT 0,
        dropped       INTEGER NOT NULL DEFAULT 0
      );
      -- One active recording per route, whichever process starts it.
      CREATE UNIQUE INDEX recordings_active_route ON recordings (route_id) WHERE stopped_at IS NULL;
      CREATE TABLE recorded_exchanges (
        id                 INTEGER PRIMARY KEY AUTOINCREMENT,
        recording_id       INTEGER NOT NULL,
        at                 INTEGER NOT NULL,
        session            TEXT NOT NULL,    -- a pseudonym of the sticky key
        stratum            TEXT NOT NULL,
        method             TEXT NOT NULL,
        path               TEXT NOT NULL,
        query              TEXT NOT NULL,
        request_headers    TEXT NOT NULL,    -- JSON, redacted
        request_body       TEXT NOT NULL,    -- redacted, cut at its bound
        request_truncated  INTEGER NOT NULL,
        status             INTEGER NOT NULL,
        response_headers   TEXT NOT NULL,
        response_body      TEXT NOT NULL,
        response_truncated INTEGER NOT NULL,
        latency_ms         REAL NOT NULL
      );
      CREATE INDEX recorded_exchanges_recording ON recorded_exchanges (recording_id, id);
    `,
  },
  {
    version: 12,
    name: "replay runs of a recording against a candidate, and the config version of each recorded exchange",
    sql: `
      ALTER TABLE recorded_exchanges ADD COLUMN config_version TEXT NOT NULL DEFAULT '';
      CREATE TABLE replay_runs (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        recordings   TEXT NOT NULL,    -- the recordings replayed together, as ,3,4, (merged by time: a session spans routes)
        routes       TEXT NOT NULL,    -- their routes, as ,order-create,order-detail,
        target       TEXT NOT NULL,
        sandbox      INTEGER NOT NULL,
        started_at   INTEGER NOT NULL,
        finished_at  INTEGER,
        status       TEXT NOT NULL,    -- running, passed, failed, aborted
        started_by   TEXT NOT NULL,
        reason       TEXT NOT NULL,
        report       TEXT,             -- JSON, redacted
        verdicts     TEXT              -- JSON: exchange id -> match, diverge or error (for flaky verdicts)
      );
      CREATE INDEX replay_runs_status ON replay_runs (status, id);
    `,
  },
  {
    version: 13,
    name: "a divergence example's target path, when its route rewrites the path its target is sent",
    sql: `
      ALTER TABLE shadow_examples ADD COLUMN target_path TEXT;   -- NULL: the target got the client's path
    `,
  },
  {
    version: 14,
    name: "noise keyed by place and kind: a path whose order is noise may still change type",
    // SQLite cannot change a primary key in place: the table is made anew and the rows copied. What was
    // learned before has no kind: '*', noise of any kind at its path, as it was.
    sql: `
      CREATE TABLE shadow_noise_by_kind (
        route_id    TEXT NOT NULL,
        path        TEXT NOT NULL,
        kind        TEXT NOT NULL,       -- changed, type_changed, order, …; '*' for any kind
        occurrences INTEGER NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('learned', 'confirmed', 'rejected')),
        last_seen   TEXT NOT NULL,
        PRIMARY KEY (route_id, path, kind)
      );
      INSERT INTO shadow_noise_by_kind (route_id, path, kind, occurrences, status, last_seen)
        SELECT route_id, path, '*', occurrences, status, last_seen FROM shadow_noise;
      DROP TABLE shadow_noise;
      ALTER TABLE shadow_noise_by_kind RENAME TO shadow_noise;
    `,
  },
  {
    version: 15,
    name: "each webhook's place in the audit log, and what its deliveries did",
    sql: `
      CREATE TABLE webhook_state (
        name              TEXT PRIMARY KEY,
        last_id           INTEGER NOT NULL,       -- the audit entry delivered (or given up on) last
        attempts          INTEGER NOT NULL,      -- failed attempts at the entry after it
        next_attempt_at   INTEGER,                -- ms since the epoch; NULL: at once
        delivered         INTEGER NOT NULL,
        failed            INTEGER NOT NULL,       -- given up after the webhook's maxAttempts
        skipped           INTEGER NOT NULL,       -- passed over: further behind than its maxBacklog
        last_status       INTEGER,               -- the receiver's status at the last attempt; NULL: no answer
        last_error        TEXT,
        last_attempt_at   INTEGER,
        last_delivered_at INTEGER
      );
    `,
  },
  {
    version: 16,
    name: "approval gates: since when a promotion waits for a yes, and the step said yes to",
    sql: `
      ALTER TABLE route_migration ADD COLUMN awaiting_since INTEGER;   -- ms; NULL: not waiting
      ALTER TABLE route_migration ADD COLUMN approved_step INTEGER;
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
