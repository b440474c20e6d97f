import type pg from "pg";
import { mapMetricPositionsSql, metricPositionsSql } from "../evidence-vector.ts";

/**
 * The PostgreSQL schema, version for version the same tables as the SQLite one (src/store/migrations.ts)
 * up to 16: a change to one is a change to both, and the contract tests hold them to the same behaviour.
 * From 17 on, PostgreSQL keeps a fleet's evidence its own way (the inbox the judge folds, counts as
 * arrays: src/store/postgres/fleet-inbox.ts), behind the same store interfaces.
 * Never edit a migration that has shipped: add another.
 */
export const POSTGRES_MIGRATIONS: ReadonlyArray<{ readonly version: number; readonly name: string; readonly sql: string }> = [
  {
    version: 1,
    name: "rollout state and audit log",
    sql: `
      CREATE TABLE rollout_state (
        route_id       TEXT PRIMARY KEY,
        percent        DOUBLE PRECISION NOT NULL CHECK (percent >= 0 AND percent <= 100),
        salt           TEXT NOT NULL DEFAULT '',
        config_percent DOUBLE PRECISION NOT NULL,
        source         TEXT NOT NULL CHECK (source IN ('config', 'admin')),
        changed_by     TEXT NOT NULL,
        changed_at     TEXT NOT NULL,
        reason         TEXT NOT NULL DEFAULT ''
      );
      CREATE TABLE audit_log (
        id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at        TEXT NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        route_id  TEXT,
        old_value TEXT,
        new_value TEXT,
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
        id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        route_id      TEXT NOT NULL,
        path          TEXT NOT NULL,
        kind          TEXT NOT NULL,
        count         BIGINT NOT NULL,
        first_seen    TEXT NOT NULL,
        last_seen     TEXT NOT NULL,
        status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'fixed', 'accepted')),
        status_reason TEXT NOT NULL DEFAULT '',
        UNIQUE (route_id, path, kind)
      );
      CREATE TABLE shadow_examples (
        id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        signature_id    BIGINT NOT NULL,
        at              TEXT NOT NULL,
        request_id      TEXT NOT NULL,
        method          TEXT NOT NULL,
        path            TEXT NOT NULL,
        query           TEXT NOT NULL,
        primary_side    TEXT NOT NULL,
        legacy_status   INTEGER,
        target_status   INTEGER,
        legacy_ms       DOUBLE PRECISION NOT NULL,
        target_ms       DOUBLE PRECISION NOT NULL,
        request_headers TEXT NOT NULL,
        legacy_body     TEXT NOT NULL,
        target_body     TEXT NOT NULL,
        differences     TEXT NOT NULL
      );
      CREATE INDEX shadow_examples_signature ON shadow_examples (signature_id, id);
      CREATE TABLE shadow_outcomes (
        route_id TEXT NOT NULL,
        minute   BIGINT NOT NULL,
        outcome  TEXT NOT NULL,
        count    BIGINT NOT NULL,
        PRIMARY KEY (route_id, minute, outcome)
      );
      CREATE TABLE shadow_noise (
        route_id    TEXT NOT NULL,
        path        TEXT NOT NULL,
        occurrences BIGINT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('learned', 'confirmed', 'rejected')),
        last_seen   TEXT NOT NULL,
        PRIMARY KEY (route_id, path)
      );
      CREATE TABLE shadow_noise_samples (route_id TEXT PRIMARY KEY, samples BIGINT NOT NULL);
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
        step_started_at BIGINT,
        last_verdict    TEXT
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
        started_at BIGINT NOT NULL,
        last_seen  BIGINT NOT NULL
      );
      CREATE TABLE leases (
        name       TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        expires_at BIGINT NOT NULL
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
        bucket   BIGINT NOT NULL,
        metric   TEXT NOT NULL,
        count    BIGINT NOT NULL,
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
        template TEXT NOT NULL,
        bucket   BIGINT NOT NULL,
        metric   TEXT NOT NULL,
        count    BIGINT NOT NULL,
        PRIMARY KEY (method, template, bucket, metric)
      );
      CREATE TABLE map_templates (
        method         TEXT NOT NULL,
        template       TEXT NOT NULL,
        route_id       TEXT,
        first_seen     BIGINT NOT NULL,
        last_seen      BIGINT NOT NULL,
        last_legacy_at BIGINT,
        last_target_at BIGINT,
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
        minute   BIGINT NOT NULL,        -- minutes since the epoch
        metric   TEXT NOT NULL,          -- legacy.requests, legacy.errors, legacy.le.<i>, the same for target
        count    BIGINT NOT NULL,
        PRIMARY KEY (route_id, minute, metric)
      );
    `,
  },
  {
    version: 9,
    // As SQLite's migration 9: examples stored before were not fully redacted, so they go.
    name: "stored examples redacted in full: the request body kept; examples stored before (query strings, API keys and non-JSON text unredacted) deleted",
    sql: `
      DELETE FROM shadow_examples;
      ALTER TABLE shadow_examples ADD COLUMN request_body TEXT NOT NULL DEFAULT '';
    `,
  },
  {
    version: 10,
    name: "the store's own secrets (the pseudonyms' key), made on first use",
    sql: `
      CREATE TABLE store_secrets (
        name  TEXT PRIMARY KEY,
        value BYTEA NOT NULL
      );
    `,
  },
  {
    version: 11,
    name: "recordings of a route's exchanges with the monolith, redacted, for replay",
    sql: `
      CREATE TABLE recordings (
        id            BIGSERIAL PRIMARY KEY,
        route_id      TEXT NOT NULL,
        started_at    BIGINT NOT NULL,
        stopped_at    BIGINT,
        stop_reason   TEXT,
        rate          DOUBLE PRECISION NOT NULL,
        max_exchanges BIGINT NOT NULL,
        started_by    TEXT NOT NULL,
        reason        TEXT NOT NULL,
        exchanges     BIGINT NOT NULL DEFAULT 0,
        truncated     BIGINT NOT NULL DEFAULT 0,
        dropped       BIGINT NOT NULL DEFAULT 0
      );
      CREATE UNIQUE INDEX recordings_active_route ON recordings (route_id) WHERE stopped_at IS NULL;
      CREATE TABLE recorded_exchanges (
        id                 BIGSERIAL PRIMARY KEY,
        recording_id       BIGINT NOT NULL,
        at                 BIGINT NOT NULL,
        session            TEXT NOT NULL,
        stratum            TEXT NOT NULL,
        method             TEXT NOT NULL,
        path               TEXT NOT NULL,
        query              TEXT NOT NULL,
        request_headers    TEXT NOT NULL,
        request_body       TEXT NOT NULL,
        request_truncated  INTEGER NOT NULL,
        status             INTEGER NOT NULL,
        response_headers   TEXT NOT NULL,
        response_body      TEXT NOT NULL,
        response_truncated INTEGER NOT NULL,
        latency_ms         DOUBLE PRECISION NOT NULL
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
        id           BIGSERIAL PRIMARY KEY,
        recordings   TEXT NOT NULL,    -- the recordings replayed together, as ,3,4, (merged by time: a session spans routes)
        routes       TEXT NOT NULL,    -- their routes, as ,order-create,order-detail,
        target       TEXT NOT NULL,
        sandbox      INTEGER NOT NULL,
        started_at   BIGINT NOT NULL,
        finished_at  BIGINT,
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
    // What was learned before has no kind: '*', noise of any kind at its path, as it was.
    sql: `
      ALTER TABLE shadow_noise ADD COLUMN kind TEXT NOT NULL DEFAULT '*';
      ALTER TABLE shadow_noise ALTER COLUMN kind DROP DEFAULT;
      ALTER TABLE shadow_noise DROP CONSTRAINT shadow_noise_pkey;
      ALTER TABLE shadow_noise ADD PRIMARY KEY (route_id, path, kind);
    `,
  },
  {
    version: 15,
    name: "each webhook's place in the audit log, and what its deliveries did",
    sql: `
      CREATE TABLE webhook_state (
        name              TEXT PRIMARY KEY,
        last_id           BIGINT NOT NULL,       -- the audit entry delivered (or given up on) last
        attempts          INTEGER NOT NULL,      -- failed attempts at the entry after it
        next_attempt_at   BIGINT,                -- ms since the epoch; NULL: at once
        delivered         BIGINT NOT NULL,
        failed            BIGINT NOT NULL,       -- given up after the webhook's maxAttempts
        skipped           BIGINT NOT NULL,       -- passed over: further behind than its maxBacklog
        last_status       INTEGER,               -- the receiver's status at the last attempt; NULL: no answer
        last_error        TEXT,
        last_attempt_at   BIGINT,
        last_delivered_at BIGINT
      );
    `,
  },
  {
    version: 16,
    name: "approval gates: since when a promotion waits for a yes, and the step said yes to",
    sql: `
      ALTER TABLE route_migration ADD COLUMN awaiting_since BIGINT;   -- ms; NULL: not waiting
      ALTER TABLE route_migration ADD COLUMN approved_step INTEGER;
    `,
  },
  {
    version: 17,
    name: "fleet at scale: each node's deltas go to an inbox the judge folds into one row per route and bucket (or minute), counts as arrays",
    sql: `
      -- Adds two count arrays element by element; the shorter reads as zeros past its end.
      CREATE FUNCTION strangler_add_counts(a BIGINT[], b BIGINT[]) RETURNS BIGINT[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i) FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
      $$;
      -- One row per node and flush: its evidence deltas and shadow results, until the judge folds them.
      CREATE TABLE fleet_inbox (
        id         BIGSERIAL PRIMARY KEY,
        written_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        payload    TEXT NOT NULL
      );
      -- Counts in the order of EVIDENCE_METRICS (src/store/evidence-vector.ts). Room left on each page so
      -- that the fold's updates stay on it (HOT: no index write).
      CREATE TABLE evidence_buckets (
        route_id TEXT NOT NULL,
        bucket   BIGINT NOT NULL,
        counts   BIGINT[] NOT NULL,
        PRIMARY KEY (route_id, bucket)
      ) WITH (fillfactor = 70);
      CREATE TABLE traffic_minute_counts (
        route_id TEXT NOT NULL,
        minute   BIGINT NOT NULL,
        counts   BIGINT[] NOT NULL,
        PRIMARY KEY (route_id, minute)
      ) WITH (fillfactor = 70);
      INSERT INTO evidence_buckets (route_id, bucket, counts)
        SELECT k.route_id, k.bucket, array_agg(coalesce(c.count, 0)::bigint ORDER BY m.pos)
        FROM (SELECT DISTINCT route_id, bucket FROM evidence_counts) k
        CROSS JOIN (VALUES ${metricPositionsSql()}) AS m(metric, pos)
        LEFT JOIN (SELECT route_id, bucket, metric, sum(count) AS count FROM evidence_counts GROUP BY route_id, bucket, metric) c
          ON c.route_id = k.route_id AND c.bucket = k.bucket AND c.metric = m.metric
        GROUP BY k.route_id, k.bucket;
      INSERT INTO traffic_minute_counts (route_id, minute, counts)
        SELECT k.route_id, k.minute, array_agg(coalesce(c.count, 0)::bigint ORDER BY m.pos)
        FROM (SELECT DISTINCT route_id, minute FROM traffic_minutes) k
        CROSS JOIN (VALUES ${metricPositionsSql()}) AS m(metric, pos)
        LEFT JOIN traffic_minutes c ON c.route_id = k.route_id AND c.minute = k.minute AND c.metric = m.metric
        GROUP BY k.route_id, k.minute;
      DROP TABLE evidence_counts;
      DROP TABLE traffic_minutes;
    `,
  },
  {
    version: 18,
    name: "fleet at scale: the migration map's counts through the inbox too, one row per template and hour, counts as arrays",
    sql: `
      -- Counts in the order of MAP_METRICS (src/store/evidence-vector.ts).
      CREATE TABLE map_count_arrays (
        method   TEXT NOT NULL,
        template TEXT NOT NULL,
        bucket   BIGINT NOT NULL,
        counts   BIGINT[] NOT NULL,
        PRIMARY KEY (method, template, bucket)
      ) WITH (fillfactor = 70);
      INSERT INTO map_count_arrays (method, template, bucket, counts)
        SELECT k.method, k.template, k.bucket, array_agg(coalesce(c.count, 0)::bigint ORDER BY m.pos)
        FROM (SELECT DISTINCT method, template, bucket FROM map_counts) k
        CROSS JOIN (VALUES ${mapMetricPositionsSql()}) AS m(metric, pos)
        LEFT JOIN map_counts c ON c.method = k.method AND c.template = k.template AND c.bucket = k.bucket AND c.metric = m.metric
        GROUP BY k.method, k.template, k.bucket;
      DROP TABLE map_counts;
    `,
  },
];

/** A key no other application's advisory lock is likely to use: "strangler" in ASCII, folded to 63 bits. */
const MIGRATION_LOCK = 0x737472616e676c;

/**
 * Brings the database to the latest schema. Safe to run from many nodes at once: one transaction under a
 * transaction-scoped advisory lock, so the nodes of a fleet starting together apply each step once.
 */
export async function migratePostgres(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    const applied = new Set((await client.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map((r) => r.version));
    for (const migration of POSTGRES_MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [migration.version, migration.name, new Date().toISOString()]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
