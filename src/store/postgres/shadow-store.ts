import type pg from "pg";
import { divergenceAnnouncement, summarise, toExample, toNoise, toSignature, type ExampleRow, type NoiseRow, type OutcomeCounts, type SignatureRow } from "../shadow-repository.ts";
import type { ShadowStore } from "../shadow-store.ts";
import type { EvidenceBatchItem, EvidenceRetention } from "../shadow-repository.ts";
import type { NodeOutbox } from "./fleet-inbox.ts";
import type { NewAuditEntry } from "../rollout-repository.ts";
import { auditValues, INSERT_AUDIT } from "./rollout-store.ts";
import { inTransaction } from "./transaction.ts";

// pg hands BIGINT columns (ids, counts) over as text: the rows are converted before the shared mappers see them.
const num = (v: unknown) => Number(v);
const signatureRow = (r: Record<string, unknown>) => ({ ...r, id: num(r.id), count: num(r.count) }) as unknown as SignatureRow;
const exampleRow = (r: Record<string, unknown>) => ({ ...r, id: num(r.id), signature_id: num(r.signature_id) }) as unknown as ExampleRow;
const noiseRow = (r: Record<string, unknown>) => ({ ...r, occurrences: num(r.occurrences) }) as unknown as NoiseRow;

/** Keys sorted, so that nodes writing overlapping batches lock rows in one order and never deadlock. */
const sorted = <T>(entries: Iterable<[string, T]>) => [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

/**
 * Writes a batch of comparison results in the caller's transaction: the judge's fold of the fleet's inbox
 * (src/store/postgres/fleet-inbox.ts), and the tests that write a batch directly.
 */
export async function writeShadowBatch(
  client: pg.PoolClient,
  items: readonly EvidenceBatchItem[],
  retention: EvidenceRetention,
  /** Where a divergence's audit entry goes when the audit trail is on another database; else it is written in this transaction. */
  tellElsewhere?: (entry: Omit<NewAuditEntry, "at">) => void,
): Promise<void> {
  const batch = summarise(items);
  // One statement per table (unnest of arrays), whatever the number of routes: the fold of a fleet's
  // inbox carries every route's results at once.
  const outcomes = sorted(batch.outcomes);
  if (outcomes.length > 0) {
    await client.query(
      `INSERT INTO shadow_outcomes (route_id, minute, outcome, count)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])
       ON CONFLICT (route_id, minute, outcome) DO UPDATE SET count = shadow_outcomes.count + excluded.count`,
      [outcomes.map((o) => o.routeId), outcomes.map((o) => o.minute), outcomes.map((o) => o.outcome), outcomes.map((o) => o.n)],
    );
  }
  const signatures = sorted(batch.signatures);
  const { rows: stored } =
    signatures.length === 0
      ? { rows: [] }
      : await client.query<{ route_id: string; path: string; kind: string; id: string; count: string }>(
          `INSERT INTO shadow_signatures (route_id, path, kind, count, first_seen, last_seen)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[])
           ON CONFLICT (route_id, path, kind) DO UPDATE SET count = shadow_signatures.count + excluded.count,
             last_seen = GREATEST(shadow_signatures.last_seen, excluded.last_seen)
           RETURNING route_id, path, kind, id, count`,
          [signatures.map((g) => g.routeId), signatures.map((g) => g.path), signatures.map((g) => g.kind), signatures.map((g) => g.n), signatures.map((g) => g.first), signatures.map((g) => g.last)],
        );
  const storedAs = new Map(stored.map((r) => [`${r.route_id}\u0000${r.path}\u0000${r.kind}`, r]));
  for (const sig of signatures) {
    const row = storedAs.get(`${sig.routeId}\u0000${sig.path}\u0000${sig.kind}`);
    const id = Number(row?.id);
    const told = divergenceAnnouncement(sig, id, Number(row?.count), retention.announceDivergenceAt);
    if (told && tellElsewhere) tellElsewhere(told);
    else if (told) await client.query(INSERT_AUDIT, auditValues({ ...told, at: new Date().toISOString() }));
    for (const { at, example: e } of sig.examples) {
      await client.query(
        `INSERT INTO shadow_examples (signature_id, at, request_id, method, path, query, primary_side, legacy_status, target_status,
           legacy_ms, target_ms, request_headers, request_body, legacy_body, target_body, differences, target_path)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
        [id, at, e.requestId, e.method, e.path, e.query, e.primary, e.legacyStatus, e.targetStatus, e.legacyMs, e.targetMs, JSON.stringify(e.requestHeaders), e.requestBody, e.legacyBody, e.targetBody, JSON.stringify(e.differences), e.targetPath ?? null],
      );
    }
    if (sig.examples.length > 0) {
      await client.query(
        `DELETE FROM shadow_examples WHERE signature_id = $1 AND id NOT IN (SELECT id FROM shadow_examples WHERE signature_id = $1 ORDER BY id DESC LIMIT $2)`,
        [id, retention.examplesPerSignature],
      );
    }
  }
  const samples = [...batch.noiseSamples].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (samples.length > 0) {
    await client.query(
      `INSERT INTO shadow_noise_samples (route_id, samples) SELECT * FROM unnest($1::text[], $2::bigint[])
       ON CONFLICT (route_id) DO UPDATE SET samples = shadow_noise_samples.samples + excluded.samples`,
      [samples.map(([r]) => r), samples.map(([, n]) => n)],
    );
  }
  const hits = sorted(batch.noiseHits);
  if (hits.length > 0) {
    await client.query(
      `INSERT INTO shadow_noise (route_id, path, kind, occurrences, status, last_seen)
       SELECT r, p, k, n, 'learned', l FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) AS t(r, p, k, n, l)
       ON CONFLICT (route_id, path, kind) DO UPDATE SET occurrences = shadow_noise.occurrences + excluded.occurrences,
         last_seen = GREATEST(shadow_noise.last_seen, excluded.last_seen)`,
      [hits.map((h) => h.routeId), hits.map((h) => h.path), hits.map((h) => h.kind), hits.map((h) => h.n), hits.map((h) => h.last)],
    );
  }
}

/**
 * Shadow evidence on PostgreSQL. Counts are summed by the database (`count = count + excluded.count`), so
 * the batches of many nodes add up whatever their order; each batch is one transaction.
 */
export function createPostgresShadowStore(pool: pg.Pool, outbox: NodeOutbox): ShadowStore {
  return {
    // A node's results go to its outbox (one inbox row per flush with its evidence deltas); the judge
    // folds every node's into these tables (fleet-inbox.ts), so the rows written follow routes, not nodes.
    writeBatch: (items, retention) => outbox.putShadow(items, retention),
    foldedByJudge: true,
    prune: (retention) =>
      inTransaction(pool, async (client) => {
        const cutoff = new Date(Date.now() - retention.maxAgeDays * 86_400_000).toISOString();
        await client.query(
          `DELETE FROM shadow_signatures s USING (
             SELECT id, row_number() OVER (PARTITION BY route_id ORDER BY last_seen DESC, id DESC) AS rank FROM shadow_signatures
           ) ranked WHERE s.id = ranked.id AND (ranked.rank > $1 OR s.last_seen < $2)`,
          [retention.signaturesPerRoute, cutoff],
        );
        await client.query("DELETE FROM shadow_examples e WHERE e.at < $1 OR NOT EXISTS (SELECT 1 FROM shadow_signatures s WHERE s.id = e.signature_id)", [cutoff]);
        await client.query("DELETE FROM shadow_outcomes WHERE minute < $1", [Math.floor(Date.parse(cutoff) / 60_000)]);
      }),
    async outcomes(routeId, sinceMinute) {
      const counts: OutcomeCounts = { match: 0, diverge: 0, error: 0, skipped: 0 };
      const { rows } = await pool.query<{ outcome: keyof OutcomeCounts; n: string }>(
        "SELECT outcome, sum(count) AS n FROM shadow_outcomes WHERE route_id = $1 AND minute >= $2 GROUP BY outcome",
        [routeId, sinceMinute],
      );
      for (const row of rows) counts[row.outcome] = Number(row.n);
      return counts;
    },
    async outcomesOf(routeIds, sinceMinute) {
      const { rows } = await pool.query<{ route_id: string; outcome: keyof OutcomeCounts; n: string }>(
        "SELECT route_id, outcome, sum(count) AS n FROM shadow_outcomes WHERE route_id = ANY($1::text[]) AND minute >= $2 GROUP BY route_id, outcome",
        [routeIds, sinceMinute],
      );
      const out = new Map<string, OutcomeCounts>();
      for (const row of rows) {
        let counts = out.get(row.route_id);
        if (!counts) out.set(row.route_id, (counts = { match: 0, diverge: 0, error: 0, skipped: 0 }));
        counts[row.outcome] = Number(row.n);
      }
      return out;
    },
    async topSignatures(routeIds, status, perRoute) {
      const { rows } = await pool.query(
        `SELECT * FROM (
           SELECT *, row_number() OVER (PARTITION BY route_id ORDER BY count DESC, id) AS rank
           FROM shadow_signatures WHERE route_id = ANY($1::text[]) AND status = $2
         ) ranked WHERE rank <= $3 ORDER BY route_id, count DESC, id`,
        [routeIds, status, perRoute],
      );
      const out = new Map<string, ReturnType<typeof toSignature>[]>();
      for (const row of rows) {
        const sig = toSignature(signatureRow(row));
        out.set(sig.routeId, [...(out.get(sig.routeId) ?? []), sig]);
      }
      return out;
    },
    async outcomesByMinute(routeId, sinceMinute) {
      const { rows } = await pool.query<{ minute: string; compared: string; match: string }>(
        `SELECT minute, sum(CASE WHEN outcome != 'skipped' THEN count ELSE 0 END) AS compared, sum(CASE WHEN outcome = 'match' THEN count ELSE 0 END) AS match
         FROM shadow_outcomes WHERE route_id = $1 AND minute >= $2 GROUP BY minute ORDER BY minute`,
        [routeId, sinceMinute],
      );
      return rows.map((r) => ({ minute: Number(r.minute), compared: Number(r.compared), match: Number(r.match) }));
    },
    async signatures(routeId, status) {
      const { rows } = await pool.query("SELECT * FROM shadow_signatures WHERE route_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY count DESC, id", [routeId, status ?? null]);
      return rows.map((r) => toSignature(signatureRow(r)));
    },
    async signature(id) {
      const { rows } = await pool.query("SELECT * FROM shadow_signatures WHERE id = $1", [id]);
      return rows[0] ? toSignature(signatureRow(rows[0])) : undefined;
    },
    async examples(signatureId, limit) {
      const { rows } = await pool.query("SELECT * FROM shadow_examples WHERE signature_id = $1 ORDER BY id DESC LIMIT $2", [signatureId, limit]);
      return rows.map((r) => toExample(exampleRow(r)));
    },
    async acknowledge(id, status, reason) {
      const { rows } = await pool.query("UPDATE shadow_signatures SET status = $2, status_reason = $3 WHERE id = $1 RETURNING *", [id, status, reason]);
      return rows[0] ? toSignature(signatureRow(rows[0])) : undefined;
    },
    resetRoute: (routeId) =>
      inTransaction(pool, async (client) => {
        await client.query("DELETE FROM shadow_examples WHERE signature_id IN (SELECT id FROM shadow_signatures WHERE route_id = $1)", [routeId]);
        const signatures = (await client.query("DELETE FROM shadow_signatures WHERE route_id = $1", [routeId])).rowCount ?? 0;
        const outcomes = (await client.query("DELETE FROM shadow_outcomes WHERE route_id = $1", [routeId])).rowCount ?? 0;
        return { signatures, outcomes };
      }),
    async noise(routeId) {
      const { rows } = await pool.query("SELECT * FROM shadow_noise WHERE ($1::text IS NULL OR route_id = $1) ORDER BY route_id, occurrences DESC, path, kind", [routeId ?? null]);
      return rows.map((r) => toNoise(noiseRow(r)));
    },
    async noiseSamples(routeId) {
      const { rows } = await pool.query<{ samples: string }>("SELECT samples FROM shadow_noise_samples WHERE route_id = $1", [routeId]);
      return rows[0] ? Number(rows[0].samples) : 0;
    },
    async setNoiseStatus(routeId, path, kind, status) {
      const { rows } = await pool.query(
        `INSERT INTO shadow_noise (route_id, path, kind, occurrences, status, last_seen) VALUES ($1, $2, $3, 0, $4, $5)
         ON CONFLICT (route_id, path, kind) DO UPDATE SET status = excluded.status RETURNING *`,
        [routeId, path, kind, status, new Date().toISOString()],
      );
      return toNoise(noiseRow(rows[0] as Record<string, unknown>));
    },
  };
}
