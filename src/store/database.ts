import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { migrate } from "./migrations.ts";

/** The file the proxy keeps its state in, under the data directory. */
export const DATABASE_FILE = "strangler.db";

/**
 * Opens `<dataDir>/strangler.db` (creating the directory), in WAL mode so readers never wait for the
 * writer and several proxy processes can share it, and migrates it to the latest schema.
 */
export function openDatabase(dataDir: string): Database.Database {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, DATABASE_FILE));
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  db.pragma("synchronous = NORMAL");
  migrate(db);
  return db;
}

/**
 * Calls `onChange` when another connection (another process) has written to the database, checked
 * every `intervalMs` through `PRAGMA data_version`, which costs no I/O when nothing changed.
 */
export function watchForeignWrites(db: Database.Database, onChange: () => void, intervalMs = 250): () => void {
  const read = db.prepare("PRAGMA data_version").pluck();
  let last = read.get() as number;
  const timer = setInterval(() => {
    if (!db.open) return;
    const now = read.get() as number;
    if (now !== last) {
      last = now;
      onChange();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
