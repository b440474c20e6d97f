import type Database from "better-sqlite3";

/**
 * Recordings of a route's real exchanges with the monolith (issue 29), to be replayed against a candidate
 * service. What is stored here has already been redacted (src/redaction/): the store never sees a
 * credential. Times are ms since the epoch, passed in. At most one recording per route is active (not
 * stopped) at a time. Pinned by test/contract/recording-store.contract.test.ts on both stores.
 */
export interface RecordingRecord {
  readonly id: number;
  readonly routeId: string;
  readonly startedAt: number;
  /** Null while it records. */
  readonly stoppedAt: number | null;
  /** Why it stopped: `stopped` (asked), `full` (reached its size), `overload` (the store stayed behind). */
  readonly stopReason: string | null;
  /** The share of the route's exchanges kept, 0–1 (rare kinds of answers are kept first: see the recorder). */
  readonly rate: number;
  readonly maxExchanges: number;
  readonly startedBy: string;
  readonly reason: string;
  /** Exchanges stored so far, summed over every node. */
  readonly exchanges: number;
  /** Of them, kept with a body cut at its bound (replay skips them). */
  readonly truncated: number;
  /** Exchanges sampled but dropped because the hand-off to the store was full. */
  readonly dropped: number;
}

/** One recorded exchange: the request and the monolith's answer, as redacted. */
export interface NewRecordedExchange {
  readonly at: number;
  /** A pseudonym of the request's sticky key: which exchanges came from one user, in order. */
  readonly session: string;
  /** Method, status class and response shape: what the sampling kept a share of. */
  readonly stratum: string;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly requestHeaders: Readonly<Record<string, string>>;
  readonly requestBody: string;
  readonly requestTruncated: boolean;
  readonly status: number;
  readonly responseHeaders: Readonly<Record<string, string>>;
  readonly responseBody: string;
  readonly responseTruncated: boolean;
  readonly latencyMs: number;
  /** The route's config when it was recorded (a short hash of it): which rules the monolith answered under. */
  readonly configVersion: string;
}

export interface RecordedExchange extends NewRecordedExchange {
  readonly id: number;
  readonly recordingId: number;
}

export interface RecordingStore {
  /** Starts a recording of `routeId`; undefined when one is already active on it (that one stands). */
  start(recording: { routeId: string; rate: number; maxExchanges: number; startedBy: string; reason: string; at: number }): Promise<RecordingRecord | undefined>;
  /** Stops an active recording; undefined when it is unknown or already stopped. */
  stop(id: number, at: number, reason: string): Promise<RecordingRecord | undefined>;
  get(id: number): Promise<RecordingRecord | undefined>;
  /** Every recording, newest first; only `routeId`'s when given. */
  list(routeId?: string): Promise<RecordingRecord[]>;
  /** The recordings not stopped. */
  active(): Promise<RecordingRecord[]>;
  /**
   * Adds a batch to a recording, with the batch's truncated and dropped counts; answers the recording's
   * totals after it (nothing is added to a stopped or deleted one: undefined).
   */
  append(recordingId: number, exchanges: readonly NewRecordedExchange[], dropped: number): Promise<RecordingRecord | undefined>;
  /** A recording's exchanges in the order recorded, after the id `afterId`, at most `limit`. */
  exchanges(recordingId: number, afterId: number, limit: number): Promise<RecordedExchange[]>;
  /** Deletes a recording and its exchanges; false when it did not exist. */
  delete(id: number): Promise<boolean>;
  /** Deletes the recordings stopped before `beforeMs`, and their exchanges and replay runs. */
  prune(beforeMs: number): Promise<void>;
  /** Starts a replay run of one or more recordings (status `running`). */
  addRun(run: NewReplayRun): Promise<ReplayRunRecord>;
  /** Ends a running run with its status, report and verdicts; undefined when it is unknown or already ended. */
  finishRun(id: number, end: ReplayRunEnd): Promise<ReplayRunRecord | undefined>;
  getRun(id: number): Promise<ReplayRunRecord | undefined>;
  /** The runs that replayed a recording, newest first (their reports, not their verdicts). */
  runs(recordingId: number): Promise<ReplayRunRecord[]>;
  /**
   * The newest ended run of the same recordings against `target` before `beforeId`, with its verdicts:
   * what the next run's flaky verdicts are found against.
   */
  previousRun(recordingIds: readonly number[], target: string, beforeId: number): Promise<ReplayRunRecord | undefined>;
  /** Whether a passing run replayed one of the route's recordings (what `replay.requiredToLeaveLegacy` asks for). */
  hasPassingRun(routeId: string): Promise<boolean>;
}

export type ReplayRunStatus = "running" | "passed" | "failed" | "aborted";

export interface NewReplayRun {
  /** The recordings replayed together, merged by time (a session's write on one route, then its read on another). */
  readonly recordingIds: readonly number[];
  /** Their routes. */
  readonly routeIds: readonly string[];
  /** The candidate's URL (origin and base path). */
  readonly target: string;
  /** Whether writes were sent (the target was declared a sandbox). */
  readonly sandbox: boolean;
  readonly startedAt: number;
  readonly startedBy: string;
  readonly reason: string;
}

export interface ReplayRunEnd {
  readonly finishedAt: number;
  readonly status: Exclude<ReplayRunStatus, "running">;
  readonly report: unknown;
  /** Exchange id to verdict, for the exchanges compared. */
  readonly verdicts: Readonly<Record<string, "match" | "diverge" | "error">>;
}

export interface ReplayRunRecord extends NewReplayRun {
  readonly id: number;
  readonly finishedAt: number | null;
  readonly status: ReplayRunStatus;
  readonly report: unknown;
  readonly verdicts: Readonly<Record<string, "match" | "diverge" | "error">>;
}

export interface ReplayRunRow {
  id: number | string;
  recordings: string;
  routes: string;
  target: string;
  sandbox: number | boolean;
  started_at: number | string;
  finished_at: number | string | null;
  status: ReplayRunStatus;
  started_by: string;
  reason: string;
  report: string | null;
  verdicts?: string | null;
}

export const toReplayRun = (r: ReplayRunRow): ReplayRunRecord => ({
  id: Number(r.id),
  recordingIds: r.recordings.split(",").filter(Boolean).map(Number),
  routeIds: r.routes.split(",").filter(Boolean),
  target: r.target,
  sandbox: Boolean(r.sandbox),
  startedAt: Number(r.started_at),
  finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  status: r.status,
  startedBy: r.started_by,
  reason: r.reason,
  report: r.report === null ? null : (JSON.parse(r.report) as unknown),
  verdicts: r.verdicts ? (JSON.parse(r.verdicts) as Record<string, "match" | "diverge" | "error">) : {},
});

/** A list as its column holds it, between commas (`,3,4,`), so that one member is found as a substring (`,3,`). */
export const listColumn = (values: ReadonlyArray<number | string>): string => `,${[...values].sort().join(",")},`;

/** The columns a run list reads: everything but the verdicts, which can be large. */
export const RUN_SUMMARY_COLUMNS = "id, recordings, routes, target, sandbox, started_at, finished_at, status, started_by, reason, report";

export interface RecordingRow {
  id: number | string;
  route_id: string;
  started_at: number | string;
  stopped_at: number | string | null;
  stop_reason: string | null;
  rate: number;
  max_exchanges: number | string;
  started_by: string;
  reason: string;
  exchanges: number | string;
  truncated: number | string;
  dropped: number | string;
}

export interface ExchangeRow {
  id: number | string;
  recording_id: number | string;
  at: number | string;
  session: string;
  stratum: string;
  method: string;
  path: string;
  query: string;
  request_headers: string;
  request_body: string;
  request_truncated: number | boolean;
  status: number;
  response_headers: string;
  response_body: string;
  response_truncated: number | boolean;
  latency_ms: number;
  config_version: string;
}

/** PostgreSQL hands BIGINTs back as strings; SQLite as numbers. */
const num = (v: number | string): number => Number(v);

export const toRecording = (r: RecordingRow): RecordingRecord => ({
  id: num(r.id),
  routeId: r.route_id,
  startedAt: num(r.started_at),
  stoppedAt: r.stopped_at === null ? null : num(r.stopped_at),
  stopReason: r.stop_reason,
  rate: Number(r.rate),
  maxExchanges: num(r.max_exchanges),
  startedBy: r.started_by,
  reason: r.reason,
  exchanges: num(r.exchanges),
  truncated: num(r.truncated),
  dropped: num(r.dropped),
});

export const toExchange = (r: ExchangeRow): RecordedExchange => ({
  id: num(r.id),
  recordingId: num(r.recording_id),
  at: num(r.at),
  session: r.session,
  stratum: r.stratum,
  method: r.method,
  path: r.path,
  query: r.query,
  requestHeaders: JSON.parse(r.request_headers) as Record<string, string>,
  requestBody: r.request_body,
  requestTruncated: Boolean(r.request_truncated),
  status: Number(r.status),
  responseHeaders: JSON.parse(r.response_headers) as Record<string, string>,
  responseBody: r.response_body,
  responseTruncated: Boolean(r.response_truncated),
  latencyMs: Number(r.latency_ms),
  configVersion: r.config_version,
});

/** An exchange as the row the INSERT of either store takes, in its columns' order. */
export const exchangeValues = (recordingId: number, e: NewRecordedExchange): unknown[] => [
  recordingId,
  e.at,
  e.session,
  e.stratum,
  e.method,
  e.path,
  e.query,
  JSON.stringify(e.requestHeaders),
  e.requestBody,
  e.requestTruncated ? 1 : 0,
  e.status,
  JSON.stringify(e.responseHeaders),
  e.responseBody,
  e.responseTruncated ? 1 : 0,
  e.latencyMs,
  e.configVersion,
];

export const EXCHANGE_COLUMNS = "recording_id, at, session, stratum, method, path, query, request_headers, request_body, request_truncated, status, response_headers, response_body, response_truncated, latency_ms, config_version";
/** How many values one exchange's INSERT takes. */
export const EXCHANGE_VALUES = 16;

/** How many of a batch were kept with a body cut at its bound. */
export const truncatedIn = (exchanges: readonly NewRecordedExchange[]): number => exchanges.filter((e) => e.requestTruncated || e.responseTruncated).length;

export function createSqliteRecordingStore(db: Database.Database): RecordingStore {
  const get = db.prepare("SELECT * FROM recordings WHERE id = ?");
  const activeOn = db.prepare("SELECT 1 FROM recordings WHERE route_id = ? AND stopped_at IS NULL");
  const insertRecording = db.prepare("INSERT INTO recordings (route_id, started_at, rate, max_exchanges, started_by, reason) VALUES (?, ?, ?, ?, ?, ?)");
  const insertExchange = db.prepare(`INSERT INTO recorded_exchanges (${EXCHANGE_COLUMNS}) VALUES (${Array(EXCHANGE_VALUES).fill("?").join(", ")})`);
  const addCounts = db.prepare("UPDATE recordings SET exchanges = exchanges + ?, truncated = truncated + ?, dropped = dropped + ? WHERE id = ?");
  const deleteExchanges = db.prepare("DELETE FROM recorded_exchanges WHERE recording_id = ?");
  const deleteRecording = db.prepare("DELETE FROM recordings WHERE id = ?");
  // Ids are bound as text: better-sqlite3 binds a JS number as a REAL, which `||` would write as "3.0".
  const deleteRuns = db.prepare("DELETE FROM replay_runs WHERE instr(recordings, ',' || ? || ',') > 0");
  const getRun = db.prepare("SELECT * FROM replay_runs WHERE id = ?");
  const readRun = (id: number) => {
    const row = getRun.get(id) as ReplayRunRow | undefined;
    return row ? toReplayRun(row) : undefined;
  };
  const read = (id: number) => {
    const row = get.get(id) as RecordingRow | undefined;
    return row ? toRecording(row) : undefined;
  };
  const start = db.transaction((r: Parameters<RecordingStore["start"]>[0]) => {
    if (activeOn.get(r.routeId)) return undefined;
    const { lastInsertRowid } = insertRecording.run(r.routeId, r.at, r.rate, r.maxExchanges, r.startedBy, r.reason);
    return read(Number(lastInsertRowid));
  });
  const append = db.transaction((recordingId: number, exchanges: readonly NewRecordedExchange[], dropped: number) => {
    const current = read(recordingId);
    if (!current || current.stoppedAt !== null) return undefined;
    for (const e of exchanges) insertExchange.run(...exchangeValues(recordingId, e));
    addCounts.run(exchanges.length, truncatedIn(exchanges), dropped, recordingId);
    return read(recordingId);
  });
  const remove = db.transaction((ids: readonly number[]) => {
    for (const id of ids) {
      deleteExchanges.run(id);
      deleteRuns.run(String(id));
      deleteRecording.run(id);
    }
  });
  return {
    async start(r) {
      // IMMEDIATE: the write lock first, so two processes starting the same route cannot both pass the check.
      return start.immediate(r);
    },
    async stop(id, at, reason) {
      const { changes } = db.prepare("UPDATE recordings SET stopped_at = ?, stop_reason = ? WHERE id = ? AND stopped_at IS NULL").run(at, reason, id);
      return changes === 0 ? undefined : read(id);
    },
    async get(id) {
      return read(id);
    },
    async list(routeId) {
      const rows = (routeId === undefined ? db.prepare("SELECT * FROM recordings ORDER BY id DESC").all() : db.prepare("SELECT * FROM recordings WHERE route_id = ? ORDER BY id DESC").all(routeId)) as RecordingRow[];
      return rows.map(toRecording);
    },
    async active() {
      return (db.prepare("SELECT * FROM recordings WHERE stopped_at IS NULL ORDER BY id").all() as RecordingRow[]).map(toRecording);
    },
    async append(recordingId, exchanges, dropped) {
      return append(recordingId, exchanges, dropped);
    },
    async exchanges(recordingId, afterId, limit) {
      return (db.prepare("SELECT * FROM recorded_exchanges WHERE recording_id = ? AND id > ? ORDER BY id LIMIT ?").all(recordingId, afterId, limit) as ExchangeRow[]).map(toExchange);
    },
    async delete(id) {
      const existed = read(id) !== undefined;
      remove([id]);
      return existed;
    },
    async prune(beforeMs) {
      const ids = (db.prepare("SELECT id FROM recordings WHERE stopped_at IS NOT NULL AND stopped_at < ?").all(beforeMs) as Array<{ id: number }>).map((r) => r.id);
      remove(ids);
    },
    async addRun(run) {
      const { lastInsertRowid } = db
        .prepare("INSERT INTO replay_runs (recordings, routes, target, sandbox, started_at, status, started_by, reason) VALUES (?, ?, ?, ?, ?, 'running', ?, ?)")
        .run(listColumn(run.recordingIds), listColumn(run.routeIds), run.target, run.sandbox ? 1 : 0, run.startedAt, run.startedBy, run.reason);
      return readRun(Number(lastInsertRowid)) as ReplayRunRecord;
    },
    async finishRun(id, end) {
      const { changes } = db
        .prepare("UPDATE replay_runs SET finished_at = ?, status = ?, report = ?, verdicts = ? WHERE id = ? AND status = 'running'")
        .run(end.finishedAt, end.status, JSON.stringify(end.report), JSON.stringify(end.verdicts), id);
      return changes === 0 ? undefined : readRun(id);
    },
    async getRun(id) {
      return readRun(id);
    },
    async runs(recordingId) {
      return (db.prepare(`SELECT ${RUN_SUMMARY_COLUMNS} FROM replay_runs WHERE instr(recordings, ',' || ? || ',') > 0 ORDER BY id DESC`).all(String(recordingId)) as ReplayRunRow[]).map(toReplayRun);
    },
    async previousRun(recordingIds, target, beforeId) {
      const row = db.prepare("SELECT * FROM replay_runs WHERE recordings = ? AND target = ? AND id < ? AND status IN ('passed', 'failed') ORDER BY id DESC LIMIT 1").get(listColumn(recordingIds), target, beforeId) as ReplayRunRow | undefined;
      return row ? toReplayRun(row) : undefined;
    },
    async hasPassingRun(routeId) {
      return db.prepare("SELECT 1 FROM replay_runs WHERE status = 'passed' AND instr(routes, ',' || ? || ',') > 0 LIMIT 1").get(routeId) !== undefined;
    },
  };
}
