import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import type Database from "better-sqlite3";

/**
 * Secrets the proxy makes for itself and keeps with its state, so every process and node on the same
 * store uses the same: today the key of the pseudonyms redaction writes (src/redaction/pseudonyms.ts).
 * A secret is made on first use (32 random bytes) and never changes; the first writer wins a race.
 * Pinned by test/contract/secret-store.contract.test.ts on both stores.
 */
export interface SecretStore {
  /** The secret `name`, made now if the store has none yet. */
  secret(name: string): Promise<Buffer>;
}

export const SECRET_BYTES = 32;

export function createSqliteSecretStore(db: Database.Database): SecretStore {
  const insert = db.prepare("INSERT INTO store_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING");
  const read = db.prepare("SELECT value FROM store_secrets WHERE name = ?");
  return {
    async secret(name) {
      insert.run(name, randomBytes(SECRET_BYTES));
      return Buffer.from((read.get(name) as { value: Buffer }).value);
    },
  };
}
