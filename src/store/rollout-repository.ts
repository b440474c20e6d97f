import type Database from "better-sqlite3";

/** Where a route's live percentage last came from. */
export type RolloutSource = "config" | "admin";

/** A route's persisted rollout state. */
export interface RolloutRecord {
  readonly routeId: string;
  readonly percent: number;
  readonly salt: string;
  /** The config file's percentage when last reconciled. */
  readonly configPercent: number;
  readonly source: RolloutSource;
  readonly changedBy: string;
  readonly changedAt: string;
  readonly reason: string;
}

/** One audit entry. `oldValue`/`newValue` are JSON-able snapshots. */
export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly routeId: string | null;
  readonly oldValue: unknown;
  readonly newValue: unknown;
  readonly reason: string;
  readonly source: string;
}

export type NewAuditEntry = Omit<AuditEntry, "id">;

/** A change to a route's state, applied with its audit entry in one transaction. */
export interface RolloutChange {
  readonly routeId: string;
  readonly actor: string;
  readonly reason: string;
  readonly source: RolloutSource;
  readonly action: string;
  readonly percent?: number;
  readonly salt?: string;
}

/**
 * Rollout state and its audit log. Every write is a transaction that also appends the audit entry, so
 * state and history never disagree. SQL lives here (and in the other store modules) only.
 */
export interface RolloutRepository {
  all(): RolloutRecord[];
  get(routeId: string): RolloutRecord | undefined;
  /**
   * Applies the config file's percentages: a route never seen gets the file's value; a route whose file
   * value changed since the last reconcile gets the new file value (source `config`); otherwise the live
   * value (perhaps set through the admin API) stays. Returns the routes whose live percentage changed.
   */
  reconcile(configured: ReadonlyArray<{ routeId: string; percent: number }>, actor: string): string[];
  /** Changes a route's live percentage and/or salt; returns the state before and after, or undefined for an unknown route. */
  change(change: RolloutChange): { before: RolloutRecord; after: RolloutRecord } | undefined;
  audit(query: { limit: number; before?: number; routeId?: string }): AuditEntry[];
  auditAfter(afterId: number, limit: number): AuditEntry[];
  auditHead(): number;
  /** Appends an entry for an action that is not a rollout change (acknowledging a divergence, say). */
  appendAudit(entry: Omit<NewAuditEntry, "at">): void;
}

export interface RolloutRow {
  route_id: string;
  percent: number;
  salt: string;
  config_percent: number;
  source: RolloutSource;
  changed_by: string;
  changed_at: string;
  reason: string;
}

export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  route_id: string | null;
  old_value: string | null;
  new_value: string | null;
  reason: string;
  source: string;
}

export function toRecord(row: RolloutRow): RolloutRecord {
  return {
    routeId: row.route_id,
    percent: row.percent,
    salt: row.salt,
    configPercent: row.config_percent,
    source: row.source,
    changedBy: row.changed_by,
    changedAt: row.changed_at,
    reason: row.reason,
  };
}

export function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    routeId: row.route_id,
    oldValue: row.old_value === null ? null : (JSON.parse(row.old_value) as unknown),
    newValue: row.new_value === null ? null : (JSON.parse(row.new_value) as unknown),
    reason: row.reason,
    source: row.source,
  };
}

const snapshot = (r: RolloutRecord | undefined) => (r ? { percent: r.percent, salt: r.salt } : null);

/**
 * The config-vs-admin rule for one route, the same for every store: a route never seen takes the file's
 * value; a route whose file value changed since the last reconcile takes the new one (source `config`);
 * otherwise nothing happens (undefined). Returns the new state, its audit entry, and whether the live
 * percentage moved.
 */
export function reconciledRollout(before: RolloutRecord | undefined, routeId: string, percent: number, actor: string, at: string): { after: RolloutRecord; audit: NewAuditEntry; moved: boolean } | undefined {
  if (before && before.configPercent === percent) return undefined;
  const after: RolloutRecord = {
    routeId,
    percent,
    salt: before?.salt ?? "",
    configPercent: percent,
    source: "config",
    changedBy: actor,
    changedAt: at,
    reason: before ? "routes.config.ts changed" : "route added in routes.config.ts",
  };
  const audit: NewAuditEntry = { at, actor, action: before ? "config_change" : "route_added", routeId, oldValue: snapshot(before), newValue: { percent, salt: after.salt }, reason: after.reason, source: "config" };
  return { after, audit, moved: before?.percent !== percent };
}

/** An operator's (or guard's) change applied to a route's state, with its audit entry. */
export function changedRollout(before: RolloutRecord, c: RolloutChange, at: string): { after: RolloutRecord; audit: NewAuditEntry } {
  const after: RolloutRecord = {
    routeId: c.routeId,
    percent: c.percent ?? before.percent,
    salt: c.salt ?? before.salt,
    configPercent: before.configPercent,
    source: c.source,
    changedBy: c.actor,
    changedAt: at,
    reason: c.reason,
  };
  return { after, audit: { at, actor: c.actor, action: c.action, routeId: c.routeId, oldValue: snapshot(before), newValue: snapshot(after), reason: c.reason, source: c.source } };
}

const toRow = (r: RolloutRecord): RolloutRow => ({
  route_id: r.routeId,
  percent: r.percent,
  salt: r.salt,
  config_percent: r.configPercent,
  source: r.source,
  changed_by: r.changedBy,
  changed_at: r.changedAt,
  reason: r.reason,
});

export function createRolloutRepository(db: Database.Database): RolloutRepository {
  const selectAll = db.prepare("SELECT * FROM rollout_state ORDER BY route_id");
  const selectOne = db.prepare("SELECT * FROM rollout_state WHERE route_id = ?");
  const insert = db.prepare(
    `INSERT INTO rollout_state (route_id, percent, salt, config_percent, source, changed_by, changed_at, reason)
     VALUES (@route_id, @percent, @salt, @config_percent, @source, @changed_by, @changed_at, @reason)`,
  );
  const update = db.prepare(
    `UPDATE rollout_state SET percent = @percent, salt = @salt, config_percent = @config_percent, source = @source,
       changed_by = @changed_by, changed_at = @changed_at, reason = @reason WHERE route_id = @route_id`,
  );
  const appendAudit = db.prepare(
    `INSERT INTO audit_log (at, actor, action, route_id, old_value, new_value, reason, source)
     VALUES (@at, @actor, @action, @route_id, @old_value, @new_value, @reason, @source)`,
  );
  const selectAfter = db.prepare("SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?");
  const selectHead = db.prepare("SELECT max(id) AS id FROM audit_log");
  const get = (routeId: string) => {
    const row = selectOne.get(routeId) as RolloutRow | undefined;
    return row ? toRecord(row) : undefined;
  };
  const audit = (entry: NewAuditEntry) =>
    appendAudit.run({
      at: entry.at,
      actor: entry.actor,
      action: entry.action,
      route_id: entry.routeId,
      old_value: entry.oldValue === null ? null : JSON.stringify(entry.oldValue),
      new_value: entry.newValue === null ? null : JSON.stringify(entry.newValue),
      reason: entry.reason,
      source: entry.source,
    });

  const reconcile = db.transaction((configured: ReadonlyArray<{ routeId: string; percent: number }>, actor: string): string[] => {
    const changed: string[] = [];
    const at = new Date().toISOString();
    for (const { routeId, percent } of configured) {
      const before = get(routeId);
      const next = reconciledRollout(before, routeId, percent, actor, at);
      if (!next) continue;
      (before ? update : insert).run(toRow(next.after));
      if (next.moved) changed.push(routeId);
      audit(next.audit);
    }
    return changed;
  });

  const change = db.transaction((c: RolloutChange) => {
    const before = get(c.routeId);
    if (!before) return undefined;
    const next = changedRollout(before, c, new Date().toISOString());
    update.run(toRow(next.after));
    audit(next.audit);
    return { before, after: next.after };
  });

  return {
    all: () => (selectAll.all() as RolloutRow[]).map(toRecord),
    get,
    // IMMEDIATE: take the write lock before reading, so concurrent writers (other processes) serialise.
    reconcile: (configured, actor) => reconcile.immediate(configured, actor),
    change: (c) => change.immediate(c),
    appendAudit(entry) {
      audit({ ...entry, at: new Date().toISOString() });
    },
    auditAfter(afterId, limit) {
      return (selectAfter.all(afterId, limit) as AuditRow[]).map(toEntry);
    },
    auditHead() {
      return (selectHead.get() as { id: number | null }).id ?? 0;
    },
    audit({ limit, before, routeId }) {
      const rows = db
        .prepare(
          `SELECT * FROM audit_log WHERE (@before IS NULL OR id < @before) AND (@route IS NULL OR route_id = @route)
           ORDER BY id DESC LIMIT @limit`,
        )
        .all({ before: before ?? null, route: routeId ?? null, limit }) as AuditRow[];
      return rows.map(toEntry);
    },
  };
}
