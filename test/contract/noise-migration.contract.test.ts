import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS, migrate } from "../../src/store/migrations.ts";
import { POSTGRES_MIGRATIONS, migratePostgres } from "../../src/store/postgres/migrations.ts";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

/**
 * Migration 14 keys noise by place and kind. What a store learned before (kind unknown) must survive it
 * as noise of any kind (`*`) at its path, with its counts and a person's verdicts, on both engines.
 */
const BEFORE_KINDS = 13;

describe("noise learned before kinds were kept survives the migration", () => {
  let postgres: TestPostgres;
  beforeAll(async () => {
    postgres = await startTestPostgres();
  });
  afterAll(async () => {
    await postgres?.stop();
  });

  it("on SQLite: the rows read as kind *, and a kind can then be learned beside them", () => {
    const temp = makeTempDir();
    const db = new Database(`${temp.dir}/old.db`);
    try {
      db.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
      for (const m of MIGRATIONS.filter((m) => m.version <= BEFORE_KINDS)) {
        db.exec(m.sql);
        db.prepare("INSERT INTO schema_migrations VALUES (?, ?, ?)").run(m.version, m.name, "then");
      }
      db.prepare("INSERT INTO shadow_noise (route_id, path, occurrences, status, last_seen) VALUES (?, ?, ?, ?, ?)").run("r", "$.items", 7, "learned", "then");
      db.prepare("INSERT INTO shadow_noise (route_id, path, occurrences, status, last_seen) VALUES (?, ?, ?, ?, ?)").run("r", "$.price", 0, "rejected", "then");
      migrate(db);
      expect(db.prepare("SELECT route_id, path, kind, occurrences, status FROM shadow_noise ORDER BY path").all()).toEqual([
        { route_id: "r", path: "$.items", kind: "*", occurrences: 7, status: "learned" },
        { route_id: "r", path: "$.price", kind: "*", occurrences: 0, status: "rejected" },
      ]);
      db.prepare("INSERT INTO shadow_noise (route_id, path, kind, occurrences, status, last_seen) VALUES ('r', '$.items', 'order', 1, 'learned', 'now')").run();
      expect(db.prepare("SELECT count(*) AS n FROM shadow_noise WHERE path = '$.items'").get()).toEqual({ n: 2 });
    } finally {
      db.close();
      temp.remove();
    }
  });

  it("on PostgreSQL: likewise", async () => {
    const pool = new pg.Pool({ connectionString: await postgres.createDatabase(`noise_migration_${process.pid}_${Date.now()}`) });
    try {
      await pool.query("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
      for (const m of POSTGRES_MIGRATIONS.filter((m) => m.version <= BEFORE_KINDS)) {
        await pool.query(m.sql);
        await pool.query("INSERT INTO schema_migrations VALUES ($1, $2, $3)", [m.version, m.name, "then"]);
      }
      await pool.query("INSERT INTO shadow_noise (route_id, path, occurrences, status, last_seen) VALUES ('r', '$.items', 7, 'learned', 'then'), ('r', '$.price', 0, 'rejected', 'then')");
      await migratePostgres(pool);
      const { rows } = await pool.query("SELECT route_id, path, kind, occurrences::int AS occurrences, status FROM shadow_noise ORDER BY path");
      expect(rows).toEqual([
        { route_id: "r", path: "$.items", kind: "*", occurrences: 7, status: "learned" },
        { route_id: "r", path: "$.price", kind: "*", occurrences: 0, status: "rejected" },
      ]);
      await pool.query("INSERT INTO shadow_noise (route_id, path, kind, occurrences, status, last_seen) VALUES ('r', '$.items', 'order', 1, 'learned', 'now')");
      // The kind is part of the key now, and has no default: a writer that forgets it is refused.
      await expect(pool.query("INSERT INTO shadow_noise (route_id, path, occurrences, status, last_seen) VALUES ('r', '$.x', 1, 'learned', 'now')")).rejects.toThrow(/kind/);
    } finally {
      await pool.end();
    }
  });
});
