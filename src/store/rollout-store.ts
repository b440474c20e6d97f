import type { AuditEntry, NewAuditEntry, RolloutChange, RolloutRecord, RolloutRepository } from "./rollout-repository.ts";

/**
 * Rollout state and its audit log, as every store offers them: the embedded SQLite file or a fleet's
 * PostgreSQL. Asynchronous, since a network database is; the data plane never waits on it (it reads an
 * in-memory copy). The behaviour is pinned by test/contract/rollout-store.contract.test.ts, run against
 * both implementations.
 */
export interface RolloutStore {
  all(): Promise<RolloutRecord[]>;
  get(routeId: string): Promise<RolloutRecord | undefined>;
  /** The config-vs-admin rule (`reconciledRollout`) for every configured route, in one transaction; returns the routes whose live percentage moved. */
  reconcile(configured: ReadonlyArray<{ routeId: string; percent: number }>, actor: string): Promise<string[]>;
  /** Changes a route's live percentage and/or salt with its audit entry, in one transaction; undefined for an unknown route. */
  change(change: RolloutChange): Promise<{ before: RolloutRecord; after: RolloutRecord } | undefined>;
  audit(query: { limit: number; before?: number; routeId?: string }): Promise<AuditEntry[]>;
  /** Up to `limit` entries after `afterId`, oldest first: what the webhooks deliver, in order. */
  auditAfter(afterId: number, limit: number): Promise<AuditEntry[]>;
  /** The newest entry's id (0 when there is none): where a new webhook starts. */
  auditHead(): Promise<number>;
  appendAudit(entry: Omit<NewAuditEntry, "at">): Promise<void>;
}

/** The SQLite repository behind the asynchronous interface: each call is one synchronous transaction. */
export function sqliteRolloutStore(repository: RolloutRepository): RolloutStore {
  return {
    all: async () => repository.all(),
    get: async (routeId) => repository.get(routeId),
    reconcile: async (configured, actor) => repository.reconcile(configured, actor),
    change: async (change) => repository.change(change),
    audit: async (query) => repository.audit(query),
    auditAfter: async (afterId, limit) => repository.auditAfter(afterId, limit),
    auditHead: async () => repository.auditHead(),
    appendAudit: async (entry) => repository.appendAudit(entry),
  };
}
