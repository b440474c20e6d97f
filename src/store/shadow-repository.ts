import type Database from "better-sqlite3";
import { signaturePath } from "../json/json-path.ts";

/** A group of divergences with the same route, field path and kind. */
export interface SignatureRecord {
  readonly id: number;
  readonly routeId: string;
  readonly path: string;
  readonly kind: string;
  readonly count: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** `open`, or acknowledged as `fixed` or `accepted` (intended). */
  readonly status: "open" | "fixed" | "accepted";
  readonly statusReason: string;
}

/** Differences an example shows of its own signature, and of the others of the same pair. */
const OWN_DIFFERENCES_SHOWN = 50;
const OTHER_DIFFERENCES_SHOWN = 50;

/**
 * A pair's example as kept for one of its signatures: that signature's own differences first (so the
 * example always shows what it is an example of), then the pair's others, each list bounded.
 */
export function forSignature(example: NewExample, path: string, kind: string): NewExample {
  if (!Array.isArray(example.differences)) return example;
  const own: unknown[] = [];
  const others: unknown[] = [];
  for (const d of example.differences as Array<{ path?: unknown; kind?: unknown }>) {
    const mine = d.kind === kind && typeof d.path === "string" && signaturePath(d.path) === path;
    if (mine) {
      if (own.length < OWN_DIFFERENCES_SHOWN) own.push(d);
    } else if (others.length < OTHER_DIFFERENCES_SHOWN) others.push(d);
  }
  return { ...example, differences: own.concat(others) };
}

/** One example pair of a signature, redacted and truncated before it was stored. */
export interface ExampleRecord {
  readonly id: number;
  readonly signatureId: number;
  readonly at: string;
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  /** The path the target was sent, when its route rewrites it (redacted as `path` is); absent otherwise. */
  readonly targetPath?: string | undefined;
  readonly query: string;
  readonly primary: "legacy" | "target";
  readonly legacyStatus: number | null;
  readonly targetStatus: number | null;
  readonly legacyMs: number;
  readonly targetMs: number;
  readonly requestHeaders: Record<string, string>;
  /** The request's body, redacted and cut as the answers' are; empty when it had none. */
  readonly requestBody: string;
  readonly legacyBody: string;
  readonly targetBody: string;
  readonly differences: unknown;
}

export type NewExample = Omit<ExampleRecord, "id" | "signatureId" | "at">;

/** One comparison's evidence, written in a batch. */
export interface EvidenceBatchItem {
  readonly routeId: string;
  /**
   * When it was compared, in ms since the epoch: a number, not an ISO string, because every shadowed
   * request makes one and most are only counted by minute (formatted once per signature or noise hit).
   */
  readonly atMs: number;
  readonly outcome: "match" | "diverge" | "error" | "skipped";
  /** Signatures seen (route, path, kind) with one example for them. */
  readonly signatures: ReadonlyArray<{ readonly path: string; readonly kind: string }>;
  readonly example?: NewExample;
  /** Noise learning: one more primary-against-primary sample, and the places (signature path and kind) that differed in it. */
  readonly noiseSample?: { readonly places: readonly NoisePlace[] };
  /**
   * How many comparisons this item stands for (default 1): plain outcomes, and results with one signature
   * and nothing else to store, arrive already counted (see EvidenceWriter.count and countSigned).
   */
  readonly count?: number;
  /** With `count`: when the earliest of them was compared (default `atMs`, which is then the latest). */
  readonly firstMs?: number;
}

export type NoiseStatus = "learned" | "confirmed" | "rejected";

/** Where noise was seen: a signature path and the kind of difference there (`order`, `changed`, …). */
export interface NoisePlace {
  readonly path: string;
  readonly kind: string;
}

/** The kind of a noise entry that holds for every kind at its path: what was learned before kinds were kept, or a field an operator confirmed whole. */
export const ANY_KIND = "*";

export interface NoiseRecord {
  readonly routeId: string;
  readonly path: string;
  /** The kind of difference that is noise there, or `*` for any. */
  readonly kind: string;
  readonly occurrences: number;
  readonly status: NoiseStatus;
  readonly lastSeen: string;
}

export interface OutcomeCounts {
  match: number;
  diverge: number;
  error: number;
  skipped: number;
}

/** Retention of the evidence, applied after every batch. */
export interface EvidenceRetention {
  readonly examplesPerSignature: number;
  readonly signaturesPerRoute: number;
  readonly maxAgeDays: number;
  /** A signature whose count reaches this in a batch is told in the audit trail, in the same transaction (`shadowing.announceDivergenceAt`). */
  readonly announceDivergenceAt?: number;
}

/**
 * The audit entry of a signature that reached `announceDivergenceAt` with this batch's `n` more, or
 * undefined. A count only grows, and each batch's update is serialised on the signature's row, so exactly
 * one batch crosses the line: the divergence is told once, whichever node wrote it.
 */
export function divergenceAnnouncement(
  sig: { readonly routeId: string; readonly path: string; readonly kind: string; readonly n: number },
  id: number,
  count: number,
  at: number | undefined,
): { actor: string; action: string; routeId: string; oldValue: null; newValue: unknown; reason: string; source: string } | undefined {
  if (at === undefined || count < at || count - sig.n >= at) return undefined;
  return { actor: "shadow", action: "divergence_signature", routeId: sig.routeId, oldValue: null, newValue: { signature: id, path: sig.path, kind: sig.kind, count }, reason: "", source: "shadow" };
}

/** Shadow comparison evidence: signatures with counts and examples, outcomes per minute, learned noise. */
export interface ShadowRepository {
  /**
   * Writes a batch in one transaction, summed first: one statement per (route, minute, outcome), per
   * signature and per noise path however many items name it, plus the examples the batch carries (and
   * their per-signature trim).
   */
  writeBatch(items: readonly EvidenceBatchItem[], retention: EvidenceRetention): void;
  /** Applies the signature cap per route and the age limit; costs a scan, so it runs every few seconds, not per batch. */
  prune(retention: EvidenceRetention): void;
  outcomes(routeId: string, sinceMinute: number): OutcomeCounts;
  /** Per minute since `sinceMinute`: comparisons and matches, for a chart. */
  outcomesByMinute(routeId: string, sinceMinute: number): Array<{ minute: number; compared: number; match: number }>;
  signatures(routeId: string, status?: SignatureRecord["status"]): SignatureRecord[];
  signature(id: number): SignatureRecord | undefined;
  examples(signatureId: number, limit: number): ExampleRecord[];
  acknowledge(id: number, status: SignatureRecord["status"], reason: string): SignatureRecord | undefined;
  resetRoute(routeId: string): { signatures: number; outcomes: number };
  noise(routeId?: string): NoiseRecord[];
  noiseSamples(routeId: string): number;
  setNoiseStatus(routeId: string, path: string, kind: string, status: NoiseStatus): NoiseRecord;
}

export interface SignatureRow {
  id: number;
  route_id: string;
  path: string;
  kind: string;
  count: number;
  first_seen: string;
  last_seen: string;
  status: SignatureRecord["status"];
  status_reason: string;
}

export const toSignature = (r: SignatureRow): SignatureRecord => ({
  id: r.id,
  routeId: r.route_id,
  path: r.path,
  kind: r.kind,
  count: r.count,
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  status: r.status,
  statusReason: r.status_reason,
});

export interface ExampleRow {
  id: number;
  signature_id: number;
  at: string;
  request_id: string;
  method: string;
  path: string;
  target_path: string | null;
  query: string;
  primary_side: "legacy" | "target";
  legacy_status: number | null;
  target_status: number | null;
  legacy_ms: number;
  target_ms: number;
  request_headers: string;
  request_body: string;
  legacy_body: string;
  target_body: string;
  differences: string;
}

export const toExample = (r: ExampleRow): ExampleRecord => ({
  id: r.id,
  signatureId: r.signature_id,
  at: r.at,
  requestId: r.request_id,
  method: r.method,
  path: r.path,
  ...(r.target_path === null || r.target_path === undefined ? {} : { targetPath: r.target_path }),
  query: r.query,
  primary: r.primary_side,
  legacyStatus: r.legacy_status,
  targetStatus: r.target_status,
  legacyMs: r.legacy_ms,
  targetMs: r.target_ms,
  requestHeaders: JSON.parse(r.request_headers) as Record<string, string>,
  requestBody: r.request_body,
  legacyBody: r.legacy_body,
  targetBody: r.target_body,
  differences: JSON.parse(r.differences) as unknown,
});

export interface NoiseRow {
  route_id: string;
  path: string;
  kind: string;
  occurrences: number;
  status: NoiseStatus;
  last_seen: string;
}

export const toNoise = (r: NoiseRow): NoiseRecord => ({ routeId: r.route_id, path: r.path, kind: r.kind, occurrences: Number(r.occurrences), status: r.status, lastSeen: r.last_seen });

interface SummedSignature {
  readonly routeId: string;
  readonly path: string;
  readonly kind: string;
  n: number;
  readonly first: string;
  last: string;
  readonly examples: Array<{ at: string; example: NewExample }>;
}

/** A signature's count and its first and last times, in ms, while a batch is summed. */
interface SigningInBatch {
  readonly routeId: string;
  readonly path: string;
  readonly kind: string;
  n: number;
  firstMs: number;
  lastMs: number;
  readonly examples: Array<{ at: string; example: NewExample }>;
}

/** An ISO-8601 time: made only once per key and batch (V8 formats a date through a printf: ~7k instructions each). */
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * A batch summed by key, so that a storm of identical evidence costs one statement per key. Times are
 * kept as numbers while summing and formatted once per signature and noise path, not once per item.
 */
export function summarise(items: readonly EvidenceBatchItem[]) {
  const outcomes = new Map<string, { routeId: string; minute: number; outcome: string; n: number }>();
  const signing = new Map<string, SigningInBatch>();
  const noiseSamples = new Map<string, number>();
  const noiseHitsMs = new Map<string, { routeId: string; path: string; kind: string; n: number; lastMs: number }>();
  for (const item of items) {
    const minute = Math.floor(item.atMs / 60_000);
    const outcomeKey = `${item.routeId}\u0000${minute}\u0000${item.outcome}`;
    const n = item.count ?? 1;
    const counted = outcomes.get(outcomeKey);
    if (counted) counted.n += n;
    else outcomes.set(outcomeKey, { routeId: item.routeId, minute, outcome: item.outcome, n });
    if (item.signatures.length === 0 && !item.noiseSample) continue; // a plain outcome: counted above
    const atMs = item.atMs;
    const firstMs = item.firstMs ?? atMs;
    for (const { path, kind } of item.signatures) {
      const key = `${item.routeId}\u0000${path}\u0000${kind}`;
      let sig = signing.get(key);
      if (!sig) {
        sig = { routeId: item.routeId, path, kind, n: 0, firstMs, lastMs: atMs, examples: [] };
        signing.set(key, sig);
      }
      sig.n += n;
      // Counted items come in any order with the others (see EvidenceWriter): the earliest and the latest win.
      if (firstMs < sig.firstMs) sig.firstMs = firstMs;
      if (atMs > sig.lastMs) sig.lastMs = atMs;
      if (item.example) sig.examples.push({ at: iso(atMs), example: forSignature(item.example, path, kind) });
    }
    if (item.noiseSample) {
      noiseSamples.set(item.routeId, (noiseSamples.get(item.routeId) ?? 0) + 1);
      // Counted once per sample, however many positions of it differed: as the in-memory model counts.
      const seen = new Set<string>();
      for (const { path, kind } of item.noiseSample.places) {
        const key = `${item.routeId}\u0000${path}\u0000${kind}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const hit = noiseHitsMs.get(key);
        if (hit) {
          hit.n++;
          if (atMs > hit.lastMs) hit.lastMs = atMs;
        } else noiseHitsMs.set(key, { routeId: item.routeId, path, kind, n: 1, lastMs: atMs });
      }
    }
  }
  const signatures = new Map<string, SummedSignature>();
  for (const [key, { firstMs, lastMs, ...sig }] of signing) signatures.set(key, { ...sig, first: iso(firstMs), last: iso(lastMs) });
  const noiseHits = new Map<string, { routeId: string; path: string; kind: string; n: number; last: string }>();
  for (const [key, { lastMs, ...hit }] of noiseHitsMs) noiseHits.set(key, { ...hit, last: iso(lastMs) });
  return { outcomes, signatures, noiseSamples, noiseHits };
}

export function createShadowRepository(db: Database.Database): ShadowRepository {
  const upsertSignature = db.prepare(
    `INSERT INTO shadow_signatures (route_id, path, kind, count, first_seen, last_seen) VALUES (@route, @path, @kind, @n, @first, @last)
     ON CONFLICT (route_id, path, kind) DO UPDATE SET count = count + excluded.count, last_seen = max(last_seen, excluded.last_seen)
     RETURNING id, count`,
  );
  const announce = db.prepare(
    `INSERT INTO audit_log (at, actor, action, route_id, old_value, new_value, reason, source) VALUES (?, ?, ?, ?, NULL, ?, ?, ?)`,
  );
  const insertExample = db.prepare(
    `INSERT INTO shadow_examples (signature_id, at, request_id, method, path, target_path, query, primary_side, legacy_status, target_status,
       legacy_ms, target_ms, request_headers, request_body, legacy_body, target_body, differences)
     VALUES (@signature_id, @at, @request_id, @method, @path, @target_path, @query, @primary_side, @legacy_status, @target_status,
       @legacy_ms, @target_ms, @request_headers, @request_body, @legacy_body, @target_body, @differences)`,
  );
  const trimExamples = db.prepare(
    `DELETE FROM shadow_examples WHERE signature_id = @id AND id NOT IN
       (SELECT id FROM shadow_examples WHERE signature_id = @id ORDER BY id DESC LIMIT @keep)`,
  );
  const countOutcome = db.prepare(
    `INSERT INTO shadow_outcomes (route_id, minute, outcome, count) VALUES (?, ?, ?, ?)
     ON CONFLICT (route_id, minute, outcome) DO UPDATE SET count = count + excluded.count`,
  );
  const noiseSample = db.prepare(
    `INSERT INTO shadow_noise_samples (route_id, samples) VALUES (?, ?) ON CONFLICT (route_id) DO UPDATE SET samples = samples + excluded.samples`,
  );
  const noiseHit = db.prepare(
    `INSERT INTO shadow_noise (route_id, path, kind, occurrences, status, last_seen) VALUES (?, ?, ?, ?, 'learned', ?)
     ON CONFLICT (route_id, path, kind) DO UPDATE SET occurrences = occurrences + excluded.occurrences, last_seen = max(last_seen, excluded.last_seen)`,
  );

  const writeBatch = db.transaction((items: readonly EvidenceBatchItem[], retention: EvidenceRetention) => {
    const batch = summarise(items);
    for (const o of batch.outcomes.values()) countOutcome.run(o.routeId, o.minute, o.outcome, o.n);
    for (const sig of batch.signatures.values()) {
      const { id, count } = upsertSignature.get({ route: sig.routeId, path: sig.path, kind: sig.kind, n: sig.n, first: sig.first, last: sig.last }) as { id: number; count: number };
      const told = divergenceAnnouncement(sig, id, count, retention.announceDivergenceAt);
      if (told) announce.run(new Date().toISOString(), told.actor, told.action, told.routeId, JSON.stringify(told.newValue), told.reason, told.source);
      for (const { at, example: e } of sig.examples) {
        insertExample.run({
          signature_id: id,
          at,
          request_id: e.requestId,
          method: e.method,
          path: e.path,
          target_path: e.targetPath ?? null,
          query: e.query,
          primary_side: e.primary,
          legacy_status: e.legacyStatus,
          target_status: e.targetStatus,
          legacy_ms: e.legacyMs,
          target_ms: e.targetMs,
          request_headers: JSON.stringify(e.requestHeaders),
          request_body: e.requestBody,
          legacy_body: e.legacyBody,
          target_body: e.targetBody,
          differences: JSON.stringify(e.differences),
        });
      }
      if (sig.examples.length > 0) trimExamples.run({ id, keep: retention.examplesPerSignature });
    }
    for (const [routeId, n] of batch.noiseSamples) noiseSample.run(routeId, n);
    for (const hit of batch.noiseHits.values()) noiseHit.run(hit.routeId, hit.path, hit.kind, hit.n, hit.last);
  });

  const prune = db.transaction((retention: EvidenceRetention) => {
    // Retention: the least recently seen signatures beyond the cap go, and everything past the age limit.
    const cutoff = new Date(Date.now() - retention.maxAgeDays * 86_400_000).toISOString();
    const routes = db.prepare("SELECT DISTINCT route_id AS route FROM shadow_signatures").all() as Array<{ route: string }>;
    for (const { route } of routes) {
      db.prepare(
        `DELETE FROM shadow_signatures WHERE route_id = @route AND id NOT IN
           (SELECT id FROM shadow_signatures WHERE route_id = @route ORDER BY last_seen DESC, id DESC LIMIT @keep)`,
      ).run({ route, keep: retention.signaturesPerRoute });
    }
    db.prepare("DELETE FROM shadow_signatures WHERE last_seen < ?").run(cutoff);
    db.prepare("DELETE FROM shadow_examples WHERE at < ? OR signature_id NOT IN (SELECT id FROM shadow_signatures)").run(cutoff);
    db.prepare("DELETE FROM shadow_outcomes WHERE minute < ?").run(Math.floor(Date.parse(cutoff) / 60_000));
  });

  return {
    writeBatch: (items, retention) => writeBatch.immediate(items, retention),
    prune: (retention) => prune.immediate(retention),
    outcomes(routeId, sinceMinute) {
      const counts: OutcomeCounts = { match: 0, diverge: 0, error: 0, skipped: 0 };
      const rows = db
        .prepare("SELECT outcome, sum(count) AS n FROM shadow_outcomes WHERE route_id = ? AND minute >= ? GROUP BY outcome")
        .all(routeId, sinceMinute) as Array<{ outcome: keyof OutcomeCounts; n: number }>;
      for (const row of rows) counts[row.outcome] = row.n;
      return counts;
    },
    outcomesByMinute(routeId, sinceMinute) {
      return db
        .prepare(
          `SELECT minute, sum(CASE WHEN outcome != 'skipped' THEN count ELSE 0 END) AS compared, sum(CASE WHEN outcome = 'match' THEN count ELSE 0 END) AS match
           FROM shadow_outcomes WHERE route_id = ? AND minute >= ? GROUP BY minute ORDER BY minute`,
        )
        .all(routeId, sinceMinute) as Array<{ minute: number; compared: number; match: number }>;
    },
    signatures(routeId, status) {
      const rows = db
        .prepare("SELECT * FROM shadow_signatures WHERE route_id = ? AND (? IS NULL OR status = ?) ORDER BY count DESC, id")
        .all(routeId, status ?? null, status ?? null) as SignatureRow[];
      return rows.map(toSignature);
    },
    signature(id) {
      const row = db.prepare("SELECT * FROM shadow_signatures WHERE id = ?").get(id) as SignatureRow | undefined;
      return row ? toSignature(row) : undefined;
    },
    examples(signatureId, limit) {
      return (db.prepare("SELECT * FROM shadow_examples WHERE signature_id = ? ORDER BY id DESC LIMIT ?").all(signatureId, limit) as ExampleRow[]).map(toExample);
    },
    acknowledge(id, status, reason) {
      db.prepare("UPDATE shadow_signatures SET status = ?, status_reason = ? WHERE id = ?").run(status, reason, id);
      const row = db.prepare("SELECT * FROM shadow_signatures WHERE id = ?").get(id) as SignatureRow | undefined;
      return row ? toSignature(row) : undefined;
    },
    resetRoute: db.transaction((routeId: string) => {
      const ids = db.prepare("SELECT id FROM shadow_signatures WHERE route_id = ?").pluck().all(routeId) as number[];
      for (const id of ids) db.prepare("DELETE FROM shadow_examples WHERE signature_id = ?").run(id);
      const signatures = db.prepare("DELETE FROM shadow_signatures WHERE route_id = ?").run(routeId).changes;
      const outcomes = db.prepare("DELETE FROM shadow_outcomes WHERE route_id = ?").run(routeId).changes;
      return { signatures, outcomes };
    }),
    noise(routeId) {
      const rows = db
        .prepare("SELECT * FROM shadow_noise WHERE (? IS NULL OR route_id = ?) ORDER BY route_id, occurrences DESC, path, kind")
        .all(routeId ?? null, routeId ?? null) as NoiseRow[];
      return rows.map(toNoise);
    },
    noiseSamples(routeId) {
      return (db.prepare("SELECT samples FROM shadow_noise_samples WHERE route_id = ?").pluck().get(routeId) as number | undefined) ?? 0;
    },
    setNoiseStatus(routeId, path, kind, status) {
      db.prepare(
        `INSERT INTO shadow_noise (route_id, path, kind, occurrences, status, last_seen) VALUES (?, ?, ?, 0, ?, ?)
         ON CONFLICT (route_id, path, kind) DO UPDATE SET status = excluded.status`,
      ).run(routeId, path, kind, status, new Date().toISOString());
      return toNoise(db.prepare("SELECT * FROM shadow_noise WHERE route_id = ? AND path = ? AND kind = ?").get(routeId, path, kind) as NoiseRow);
    },
  };
}
