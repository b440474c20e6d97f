import { resolve } from "node:path";
import pg from "pg";
import { openDatabase, watchForeignWrites } from "./database.ts";
import { createSqliteEvidenceStore, type EvidenceStore } from "./evidence-store.ts";
import { createSqliteFleetStore, type FleetStore } from "./fleet-store.ts";
import { createSqliteMapStore, type MapStore } from "./map-store.ts";
import { createSqliteSecretStore, type SecretStore } from "./secret-store.ts";
import { createSqliteRecordingStore, type RecordingStore } from "./recording-store.ts";
import { createPostgresRecordingStore } from "./postgres/recording-store.ts";
import { createPostgresSecretStore } from "./postgres/secret-store.ts";
import { createMigrationRepository } from "./migration-repository.ts";
import { sqliteMigrationStore, type MigrationStore } from "./migration-store.ts";
import { createPostgresEvidenceStore } from "./postgres/evidence-store.ts";
import { createPostgresFleetStore } from "./postgres/fleet-store.ts";
import { createPostgresMapStore } from "./postgres/map-store.ts";
import { createPostgresMigrationStore } from "./postgres/migration-store.ts";
import { migratePostgres } from "./postgres/migrations.ts";
import { createPostgresRolloutStore, ROLLOUT_CHANNEL } from "./postgres/rollout-store.ts";
import { createPostgresShadowStore } from "./postgres/shadow-store.ts";
import { FleetExampleSampler, foldInbox, NodeOutbox, type FoldResult } from "./postgres/fleet-inbox.ts";
import { createRolloutRepository, type NewAuditEntry } from "./rollout-repository.ts";
import { sqliteRolloutStore, type RolloutStore } from "./rollout-store.ts";
import { createShadowRepository } from "./shadow-repository.ts";
import { createSqliteWebhookStore, type WebhookStore } from "./webhook-store.ts";
import { createPostgresWebhookStore } from "./postgres/webhook-store.ts";
import { sqliteShadowStore, type ShadowStore } from "./shadow-store.ts";

/** Every store the proxy keeps its state in, on one engine. */
export interface Stores {
  readonly kind: "sqlite" | "postgres";
  readonly rollouts: RolloutStore;
  readonly migrations: MigrationStore;
  readonly shadows: ShadowStore;
  readonly fleet: FleetStore;
  readonly evidence: EvidenceStore;
  /** The migration map: the endpoints the monolith serves, learned from traffic. */
  readonly map: MapStore;
  /** The store's own secrets, shared by every process and node on it. */
  readonly secrets: SecretStore;
  /** Recordings of routes' exchanges with the monolith, redacted, for replay. */
  readonly recordings: RecordingStore;
  /** Each webhook's place in the audit log and its deliveries' record. */
  readonly webhooks: WebhookStore;
  /**
   * Calls `onChange` when another process or node may have changed the rollout state: SQLite's
   * `data_version` (polled every `pollMs`), PostgreSQL's LISTEN/NOTIFY with a reconciliation every
   * `reconcileMs` in case a notification was lost with a connection. Returns the stop function.
   */
  watchRollouts(onChange: () => void): () => void;
  /**
   * Folds what the fleet's nodes wrote to the inbox into the tables the guards and the admin API read
   * (PostgreSQL, on the judge: see src/store/postgres/fleet-inbox.ts); nothing to do on SQLite, where
   * every write lands in its table at once.
   */
  fold(): Promise<FoldResult>;
  /**
   * PostgreSQL: connections taken from each pool so far (one per transaction or lone statement), the
   * database's `main` and its `evidence` one (the same pool without EVIDENCE_DATABASE_URL: counted once,
   * under main). What this node costs the database in round trips; zero on SQLite.
   */
  checkouts(): { readonly main: number; readonly evidence: number };
  /** False once the store is closed or (PostgreSQL) its listening connection is down. */
  isHealthy(): boolean;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** SQLite: the directory of `strangler.db`. */
  readonly dataDir: string;
  /** `postgres://…` or `postgresql://…`: the fleet's PostgreSQL instead of the SQLite file. */
  readonly databaseUrl?: string | undefined;
  /**
   * With `databaseUrl`: another PostgreSQL database for the evidence (the nodes' inbox, the folded
   * evidence and traffic history, shadow outcomes, signatures, examples and noise), so that its writes
   * and its bulk (example bodies) weigh on a database of their own. Default: `databaseUrl`'s.
   */
  readonly evidenceDatabaseUrl?: string | undefined;
  /** SQLite: how often changes made by other processes are looked for. Default 250 ms. */
  readonly pollMs?: number | undefined;
  /** PostgreSQL: how often the state's version is checked whatever NOTIFY said (`fleet.reconcileMs`). Default 5000 ms. */
  readonly reconcileMs?: number | undefined;
  /** PostgreSQL: a node's inbox row (its evidence and shadow results) is written at most this often (`fleet.evidenceFlushMs`). Default 1000 ms. */
  readonly outboxMs?: number | undefined;
}

const NOTHING_FOLDED: FoldResult = { inboxRows: 0 };

/** Why a DATABASE_URL cannot be used, or undefined. */
export function databaseUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `DATABASE_URL must be a postgres:// URL, got ${JSON.stringify(url.replace(/:[^:@/]*@/, ":***@"))}`;
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") return `DATABASE_URL must be a postgres:// or postgresql:// URL, got ${parsed.protocol}//…`;
  return undefined;
}

/** Opens the stores: PostgreSQL when `databaseUrl` is given (migrated on open), else the SQLite file. */
export async function openStores({ dataDir, databaseUrl, evidenceDatabaseUrl, pollMs = 250, reconcileMs = 5_000, outboxMs = 1_000 }: StoreOptions): Promise<Stores> {
  if (evidenceDatabaseUrl && !databaseUrl) throw new Error("EVIDENCE_DATABASE_URL needs DATABASE_URL: the evidence moves to a database of its own only from a fleet's PostgreSQL, not from the SQLite file");
  if (databaseUrl) return openPostgresStores(databaseUrl, evidenceDatabaseUrl ?? databaseUrl, reconcileMs, outboxMs);
  const db = openDatabase(resolve(dataDir));
  const rollouts = createRolloutRepository(db);
  return {
    kind: "sqlite",
    rollouts: sqliteRolloutStore(rollouts),
    // SQLite's migration repository appends its audit entry inside its own transaction, synchronously.
    migrations: sqliteMigrationStore(createMigrationRepository(db, (entry) => rollouts.appendAudit(entry))),
    shadows: sqliteShadowStore(createShadowRepository(db)),
    fleet: createSqliteFleetStore(db),
    evidence: createSqliteEvidenceStore(db),
    map: createSqliteMapStore(db),
    secrets: createSqliteSecretStore(db),
    recordings: createSqliteRecordingStore(db),
    webhooks: createSqliteWebhookStore(db),
    watchRollouts: (onChange) => watchForeignWrites(db, onChange, pollMs),
    fold: async () => NOTHING_FOLDED,
    checkouts: () => ({ main: 0, evidence: 0 }),
    isHealthy: () => db.open,
    async close() {
      db.close();
    },
  };
}

async function openPostgresStores(databaseUrl: string, evidenceUrl: string, reconcileMs: number, outboxMs: number): Promise<Stores> {
  const problem = databaseUrlProblem(databaseUrl) ?? databaseUrlProblem(evidenceUrl)?.replace("DATABASE_URL", "EVIDENCE_DATABASE_URL");
  if (problem) throw new Error(problem);
  const poolOn = async (url: string) => {
    // Idle connections are kept half a minute: a node's flushes and reads each second reuse them rather
    // than open new ones (each a process forked on the server), as the pool's 10 s would at a slow turn.
    // Five connections at most (plus the listening one): a node's flush, lease, beat and reads rarely
    // overlap, and a hundred nodes then hold at most ~600 of the server's connections, not ~1,100.
    const opened = new pg.Pool({ connectionString: url, max: 5, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
    // An idle client's error (the server restarted) must not crash the process: the pool replaces it.
    opened.on("error", () => undefined);
    // Both databases get the whole schema (the evidence tables stay empty in the other): one migration path.
    await migratePostgres(opened);
    return opened;
  };
  const pool = await poolOn(databaseUrl);
  const separate = evidenceUrl !== databaseUrl;
  const evidencePool = separate ? await poolOn(evidenceUrl) : pool;
  const checkouts = { main: 0, evidence: 0 };
  pool.on("acquire", () => checkouts.main++);
  if (separate) evidencePool.on("acquire", () => checkouts.evidence++);
  const rollouts = createPostgresRolloutStore(pool);
  let closed = false;
  let listening = false;
  const stops = new Set<() => void>();
  const outbox = new NodeOutbox(evidencePool, outboxMs);
  const sampler = new FleetExampleSampler();
  // A divergence told in the audit trail: in the fold's own transaction when the evidence shares the
  // database; else after the fold commits, on the main database (a failure there is logged by the fold).
  const announce = separate ? (entries: ReadonlyArray<Omit<NewAuditEntry, "at">>) => Promise.all(entries.map((e) => rollouts.appendAudit(e))).then(() => undefined) : undefined;
  return {
    kind: "postgres",
    rollouts,
    migrations: createPostgresMigrationStore(pool),
    shadows: createPostgresShadowStore(evidencePool, outbox),
    fleet: createPostgresFleetStore(pool),
    evidence: createPostgresEvidenceStore(evidencePool, outbox),
    map: createPostgresMapStore(evidencePool, outbox),
    secrets: createPostgresSecretStore(pool),
    recordings: createPostgresRecordingStore(pool),
    webhooks: createPostgresWebhookStore(pool),
    watchRollouts(onChange) {
      let client: pg.Client | undefined;
      let retry: NodeJS.Timeout | undefined;
      const connect = async () => {
        if (closed) return;
        const next = new pg.Client({ connectionString: databaseUrl });
        next.on("notification", () => onChange());
        next.on("error", () => {
          listening = false;
          void next.end().catch(() => undefined);
          if (!closed) retry = setTimeout(() => void connect(), 1_000);
        });
        try {
          await next.connect();
          await next.query(`LISTEN ${ROLLOUT_CHANNEL}`);
          client = next;
          listening = true;
          onChange(); // whatever happened while not listening
        } catch {
          await next.end().catch(() => undefined);
          if (!closed) retry = setTimeout(() => void connect(), 1_000);
        }
      };
      void connect();
      // The safety net: a notification lost with a connection that broke silently is caught up within
      // this. Every change of the rollout state is audited in its own transaction, so the audit trail's
      // head is the state's version: one small read a tick, and the state read again only when it moved.
      let seenHead: number | undefined;
      const reconcile = setInterval(() => {
        pool.query<{ head: string }>("SELECT coalesce(max(id), 0) AS head FROM audit_log").then(
          ({ rows }) => {
            const head = Number(rows[0]?.head ?? 0);
            if (head === seenHead) return;
            seenHead = head;
            onChange();
          },
          () => onChange(),
        );
      }, reconcileMs);
      reconcile.unref();
      const stop = () => {
        clearInterval(reconcile);
        clearTimeout(retry);
        listening = false;
        void client?.end().catch(() => undefined);
        stops.delete(stop);
      };
      stops.add(stop);
      return stop;
    },
    fold: () => foldInbox(evidencePool, sampler, announce),
    checkouts: () => ({ ...checkouts }),
    isHealthy: () => !closed && (stops.size === 0 || listening),
    async close() {
      closed = true;
      for (const stop of [...stops]) stop();
      await outbox.flushNow().catch(() => undefined);
      await pool.end();
      if (separate) await evidencePool.end();
    },
  };
}
