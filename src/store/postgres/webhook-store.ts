import type pg from "pg";
import { webhookStateOf, webhookValues, type WebhookRow, type WebhookStore } from "../webhook-store.ts";

/** The webhooks' delivery state on the fleet's PostgreSQL: one row per webhook for the whole fleet. */
export function createPostgresWebhookStore(pool: pg.Pool): WebhookStore {
  return {
    async states() {
      return (await pool.query<WebhookRow>("SELECT * FROM webhook_state ORDER BY name")).rows.map(webhookStateOf);
    },
    async ensure(name, lastId) {
      await pool.query("INSERT INTO webhook_state VALUES ($1, $2, 0, NULL, 0, 0, 0, NULL, NULL, NULL, NULL) ON CONFLICT (name) DO NOTHING", [name, lastId]);
      const { rows } = await pool.query<WebhookRow>("SELECT * FROM webhook_state WHERE name = $1", [name]);
      return webhookStateOf(rows[0] as WebhookRow);
    },
    async save(next, expectedLastId) {
      const result = await pool.query(
        `UPDATE webhook_state SET last_id = $2, attempts = $3, next_attempt_at = $4, delivered = $5, failed = $6, skipped = $7,
           last_status = $8, last_error = $9, last_attempt_at = $10, last_delivered_at = $11 WHERE name = $1 AND last_id = $12`,
        [...webhookValues(next), expectedLastId],
      );
      return result.rowCount === 1;
    },
  };
}
