import type pg from "pg";
import { EXCHANGE_COLUMNS, EXCHANGE_VALUES, exchangeValues, listColumn, RUN_SUMMARY_COLUMNS, toExchange, toRecording, toReplayRun, truncatedIn, type ExchangeRow, type RecordingRecord, type RecordingRow, type RecordingStore, type ReplayRunRow } from "../recording-store.ts";
import { inTransaction } from "./transaction.ts";

/**
 * Recordings on PostgreSQL: the nodes of a fleet append to the same recording, each batch one
 * transaction; the one-active-recording-per-route rule is the database's (a partial unique index).
 */
export function createPostgresRecordingStore(pool: pg.Pool): RecordingStore {
  const read = async (client: pg.Pool | pg.PoolClient, id: number): Promise<RecordingRecord | undefined> => {
    const { rows } = await client.query<RecordingRow>("SELECT * FROM recordings WHERE id = $1", [id]);
    return rows[0] ? toRecording(rows[0]) : undefined;
  };
  const placeholders = Array.from({ length: EXCHANGE_VALUES }, (_, i) => `$${i + 1}`).join(", ");
  return {
    async start(r) {
      const { rows } = await pool.query<RecordingRow>(
        `INSERT INTO recordings (route_id, started_at, rate, max_exchanges, started_by, reason) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (route_id) WHERE stopped_at IS NULL DO NOTHING RETURNING *`,
        [r.routeId, r.at, r.rate, r.maxExchanges, r.startedBy, r.reason],
      );
      return rows[0] ? toRecording(rows[0]) : undefined;
    },
    async stop(id, at, reason) {
      const { rows } = await pool.query<RecordingRow>("UPDATE recordings SET stopped_at = $1, stop_reason = $2 WHERE id = $3 AND stopped_at IS NULL RETURNING *", [at, reason, id]);
      return rows[0] ? toRecording(rows[0]) : undefined;
    },
    get: (id) => read(pool, id),
    async list(routeId) {
      const { rows } = routeId === undefined ? await pool.query<RecordingRow>("SELECT * FROM recordings ORDER BY id DESC") : await pool.query<RecordingRow>("SELECT * FROM recordings WHERE route_id = $1 ORDER BY id DESC", [routeId]);
      return rows.map(toRecording);
    },
    async active() {
      const { rows } = await pool.query<RecordingRow>("SELECT * FROM recordings WHERE stopped_at IS NULL ORDER BY id");
      return rows.map(toRecording);
    },
    append(recordingId, exchanges, dropped) {
      return inTransaction(pool, async (client) => {
        // The row lock orders this batch against a concurrent stop: nothing is added once it has stopped.
        const { rows } = await client.query<{ stopped_at: string | null }>("SELECT stopped_at FROM recordings WHERE id = $1 FOR UPDATE", [recordingId]);
        if (!rows[0] || rows[0].stopped_at !== null) return undefined;
        for (const e of exchanges) await client.query(`INSERT INTO recorded_exchanges (${EXCHANGE_COLUMNS}) VALUES (${placeholders})`, exchangeValues(recordingId, e));
        await client.query("UPDATE recordings SET exchanges = exchanges + $1, truncated = truncated + $2, dropped = dropped + $3 WHERE id = $4", [exchanges.length, truncatedIn(exchanges), dropped, recordingId]);
        return read(client, recordingId);
      });
    },
    async exchanges(recordingId, afterId, limit) {
      const { rows } = await pool.query<ExchangeRow>("SELECT * FROM recorded_exchanges WHERE recording_id = $1 AND id > $2 ORDER BY id LIMIT $3", [recordingId, afterId, limit]);
      return rows.map(toExchange);
    },
    delete(id) {
      return inTransaction(pool, async (client) => {
        await client.query("DELETE FROM recorded_exchanges WHERE recording_id = $1", [id]);
        await client.query("DELETE FROM replay_runs WHERE position(',' || $1 || ',' in recordings) > 0", [String(id)]);
        const { rowCount } = await client.query("DELETE FROM recordings WHERE id = $1", [id]);
        return (rowCount ?? 0) > 0;
      });
    },
    async prune(beforeMs) {
      await inTransaction(pool, async (client) => {
        await client.query("DELETE FROM recorded_exchanges WHERE recording_id IN (SELECT id FROM recordings WHERE stopped_at IS NOT NULL AND stopped_at < $1)", [beforeMs]);
        await client.query(
          "DELETE FROM replay_runs r WHERE EXISTS (SELECT 1 FROM recordings g WHERE g.stopped_at IS NOT NULL AND g.stopped_at < $1 AND position(',' || g.id::text || ',' in r.recordings) > 0)",
          [beforeMs],
        );
        await client.query("DELETE FROM recordings WHERE stopped_at IS NOT NULL AND stopped_at < $1", [beforeMs]);
      });
    },
    async addRun(run) {
      const { rows } = await pool.query<ReplayRunRow>(
        "INSERT INTO replay_runs (recordings, routes, target, sandbox, started_at, status, started_by, reason) VALUES ($1, $2, $3, $4, $5, 'running', $6, $7) RETURNING *",
        [listColumn(run.recordingIds), listColumn(run.routeIds), run.target, run.sandbox ? 1 : 0, run.startedAt, run.startedBy, run.reason],
      );
      return toReplayRun(rows[0] as ReplayRunRow);
    },
    async finishRun(id, end) {
      const { rows } = await pool.query<ReplayRunRow>(
        "UPDATE replay_runs SET finished_at = $1, status = $2, report = $3, verdicts = $4 WHERE id = $5 AND status = 'running' RETURNING *",
        [end.finishedAt, end.status, JSON.stringify(end.report), JSON.stringify(end.verdicts), id],
      );
      return rows[0] ? toReplayRun(rows[0]) : undefined;
    },
    async getRun(id) {
      const { rows } = await pool.query<ReplayRunRow>("SELECT * FROM replay_runs WHERE id = $1", [id]);
      return rows[0] ? toReplayRun(rows[0]) : undefined;
    },
    async runs(recordingId) {
      const { rows } = await pool.query<ReplayRunRow>(`SELECT ${RUN_SUMMARY_COLUMNS} FROM replay_runs WHERE position(',' || $1 || ',' in recordings) > 0 ORDER BY id DESC`, [String(recordingId)]);
      return rows.map(toReplayRun);
    },
    async previousRun(recordingIds, target, beforeId) {
      const { rows } = await pool.query<ReplayRunRow>(
        "SELECT * FROM replay_runs WHERE recordings = $1 AND target = $2 AND id < $3 AND status IN ('passed', 'failed') ORDER BY id DESC LIMIT 1",
        [listColumn(recordingIds), target, beforeId],
      );
      return rows[0] ? toReplayRun(rows[0]) : undefined;
    },
    async hasPassingRun(routeId) {
      const { rows } = await pool.query("SELECT 1 FROM replay_runs WHERE status = 'passed' AND position(',' || $1 || ',' in routes) > 0 LIMIT 1", [routeId]);
      return rows.length > 0;
    },
  };
}
