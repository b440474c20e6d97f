import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { SECRET_BYTES, type SecretStore } from "../secret-store.ts";

/** The store's own secrets on PostgreSQL: one per name for the whole fleet, the first node's. */
export function createPostgresSecretStore(pool: pg.Pool): SecretStore {
  return {
    async secret(name) {
      await pool.query("INSERT INTO store_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", [name, randomBytes(SECRET_BYTES)]);
      const { rows } = await pool.query<{ value: Buffer }>("SELECT value FROM store_secrets WHERE name = $1", [name]);
      return Buffer.from((rows[0] as { value: Buffer }).value);
    },
  };
}
