import type Database from "better-sqlite3";

/** Where one webhook is in the audit log, and what its deliveries did: kept with the state, so a restart or a new judge goes on from there. */
export interface WebhookState {
  readonly name: string;
  /** The audit entry delivered, or given up on, last: the next delivery is the first entry after it. */
  readonly lastId: number;
  /** Failed attempts at that next entry. */
  readonly attempts: number;
  /** When to try it again (ms since the epoch); null: at once. */
  readonly nextAttemptAt: number | null;
  readonly delivered: number;
  /** Entries given up on after the webhook's maxAttempts. */
  readonly failed: number;
  /** Entries passed over: the webhook was further behind than its maxBacklog. */
  readonly skipped: number;
  /** The receiver's status at the last attempt; null when it gave none (refused, timed out). */
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly lastAttemptAt: number | null;
  readonly lastDeliveredAt: number | null;
}

/**
 * The webhooks' delivery state, on either store. Pinned by test/contract/webhook-store.contract.test.ts.
 */
export interface WebhookStore {
  states(): Promise<WebhookState[]>;
  /** The webhook's state, made at `lastId` (nothing delivered yet) when it has none. */
  ensure(name: string, lastId: number): Promise<WebhookState>;
  /**
   * Writes `next` when the stored `lastId` is still `expectedLastId`: false when another process (a
   * judge that took over meanwhile) moved it, so two never deliver past each other.
   */
  save(next: WebhookState, expectedLastId: number): Promise<boolean>;
}

export interface WebhookRow {
  name: string;
  last_id: number | string;
  attempts: number;
  next_attempt_at: number | string | null;
  delivered: number | string;
  failed: number | string;
  skipped: number | string;
  last_status: number | null;
  last_error: string | null;
  last_attempt_at: number | string | null;
  last_delivered_at: number | string | null;
}

const num = (v: number | string) => Number(v);
const maybe = (v: number | string | null) => (v === null ? null : Number(v));

/** A row of either store as a state (PostgreSQL answers BIGINT as strings). */
export function webhookStateOf(r: WebhookRow): WebhookState {
  return {
    name: r.name,
    lastId: num(r.last_id),
    attempts: r.attempts,
    nextAttemptAt: maybe(r.next_attempt_at),
    delivered: num(r.delivered),
    failed: num(r.failed),
    skipped: num(r.skipped),
    lastStatus: r.last_status,
    lastError: r.last_error,
    lastAttemptAt: maybe(r.last_attempt_at),
    lastDeliveredAt: maybe(r.last_delivered_at),
  };
}

/** The state's columns in the order both stores' statements take them (name first). */
export function webhookValues(s: WebhookState): unknown[] {
  return [s.name, s.lastId, s.attempts, s.nextAttemptAt, s.delivered, s.failed, s.skipped, s.lastStatus, s.lastError, s.lastAttemptAt, s.lastDeliveredAt];
}

export function createSqliteWebhookStore(db: Database.Database): WebhookStore {
  const all = db.prepare("SELECT * FROM webhook_state ORDER BY name");
  const insert = db.prepare("INSERT INTO webhook_state VALUES (?, ?, 0, NULL, 0, 0, 0, NULL, NULL, NULL, NULL) ON CONFLICT (name) DO NOTHING");
  const one = db.prepare("SELECT * FROM webhook_state WHERE name = ?");
  const update = db.prepare(
    `UPDATE webhook_state SET last_id = ?, attempts = ?, next_attempt_at = ?, delivered = ?, failed = ?, skipped = ?,
       last_status = ?, last_error = ?, last_attempt_at = ?, last_delivered_at = ? WHERE name = ? AND last_id = ?`,
  );
  return {
    states: async () => (all.all() as WebhookRow[]).map(webhookStateOf),
    async ensure(name, lastId) {
      insert.run(name, lastId);
      return webhookStateOf(one.get(name) as WebhookRow);
    },
    async save(next, expectedLastId) {
      const [name, ...rest] = webhookValues(next);
      return update.run(...rest, name, expectedLastId).changes === 1;
    },
  };
}
