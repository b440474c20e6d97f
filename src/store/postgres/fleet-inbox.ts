import type pg from "pg";
import type { EvidenceCount } from "../evidence-store.ts";
import { isTrafficMetric, minuteOf } from "../evidence-store.ts";
import { emptyVector, EVIDENCE_METRICS, MAP_METRICS, mapMetricIndex, metricIndex } from "../evidence-vector.ts";
import type { MapBatch, MapSeen } from "../map-store.ts";
import { mergedSeen, writeMapBatch, type MapVector } from "./map-store.ts";
import type { EvidenceBatchItem, EvidenceRetention } from "../shadow-repository.ts";
import type { NewAuditEntry } from "../rollout-repository.ts";
import { writeShadowBatch } from "./shadow-store.ts";
import { inTransaction } from "./transaction.ts";

/**
 * How a fleet's writes grow with its routes, not with nodes × routes (issue 32). Each node writes one
 * row a flush into `fleet_inbox`: its evidence deltas and its shadow results, whatever the number of
 * routes. The judge folds the inbox (every `fleet.foldMs`, and before each evaluation) in one
 * transaction: the rows are deleted and their sum is added to one row per route and bucket
 * (`evidence_buckets`), per route and minute (`traffic_minute_counts`, `shadow_outcomes`) and per
 * signature. So the database takes ~2 rows per node per flush plus ~one row per active route per fold,
 * where writing each node's deltas directly took a row per node, route, bucket and metric.
 *
 * A per-node batch the judge folds rather than nodes adding to shared rows: an upsert that adds to a
 * route's counters is still a row write per node and route, and the rows of a busy route become a point
 * of contention for every node; one row per node per flush is the least a node can write.
 */

/** A node's evidence deltas in the inbox: per route and bucket, the non-zero metrics as (position, count) pairs. */
type EncodedEvidence = Array<[routeId: string, bucket: number, ...pairs: number[]]>;

/** A node's map deltas in the inbox: per template and hour, the non-zero metrics as (position, count) pairs. */
type EncodedMap = Array<[method: string, template: string, bucket: number, ...pairs: number[]]>;

/** One inbox row. */
interface InboxPayload {
  readonly e?: EncodedEvidence;
  readonly m?: { readonly c: EncodedMap; readonly s: readonly MapSeen[]; readonly x: readonly string[] };
  readonly s?: { readonly retention: EvidenceRetention; readonly items: readonly EvidenceBatchItem[] };
}

/** Evidence counts as the inbox carries them; a metric this version does not know is left out. */
export function encodeEvidence(counts: readonly EvidenceCount[]): EncodedEvidence {
  const byBucket = new Map<string, [string, number, ...number[]]>();
  for (const c of counts) {
    const position = metricIndex(c.metric);
    if (c.count === 0 || position === undefined) continue;
    const key = `${c.routeId}\u0000${c.bucket}`;
    let entry = byBucket.get(key);
    if (!entry) byBucket.set(key, (entry = [c.routeId, c.bucket]));
    entry.push(position, c.count);
  }
  return [...byBucket.values()];
}

/**
 * What one node (one `Stores`) has for the inbox: evidence deltas and shadow results put by their
 * writers, written together as one row at most every `minIntervalMs`. A put's promise settles with the
 * write that carries it, so each writer keeps its own bound and failure handling (the evidence keeps its
 * deltas for the next flush; the shadow writer counts its results as dropped). Nothing is held here past
 * the write under way and the one being gathered.
 */
export class NodeOutbox {
  #evidence: EncodedEvidence[] = [];
  /** Results gathered for the next row: counted ones merged by key (see `#mergeKey`), the others as they came. */
  #shadow = new Map<string, EvidenceBatchItem>();
  #unmerged: EvidenceBatchItem[] = [];
  #retention: EvidenceRetention | undefined;
  /** The map's deltas gathered for the next row: per template and hour, sightings per template, collapses. */
  #mapCounts = new Map<string, MapVector>();
  #mapSeen = new Map<string, MapSeen>();
  #mapCollapsed = new Set<string>();
  #waiting: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  #timer: NodeJS.Timeout | undefined;
  #lastWriteAt = -Infinity;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    private readonly minIntervalMs: number,
  ) {}

  putEvidence(counts: readonly EvidenceCount[]): Promise<void> {
    const encoded = encodeEvidence(counts);
    if (encoded.length === 0) return Promise.resolve();
    this.#evidence.push(encoded);
    return this.#wait();
  }

  /**
   * A writer's batch. Its plain and single-signature results arrive counted per route and minute every
   * `shadowing.evidenceFlushMs` (200 ms); those of one route, minute, outcome and signature are merged
   * here into one item, so a row carries about one item per route and outcome, not one per writer flush.
   */
  putShadow(items: readonly EvidenceBatchItem[], retention: EvidenceRetention): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    this.#retention = retention;
    for (const item of items) {
      if (item.example !== undefined || item.noiseSample !== undefined) {
        this.#unmerged.push(item);
        continue;
      }
      const key = mergeKey(item);
      const before = this.#shadow.get(key);
      this.#shadow.set(key, before ? merged(before, item) : item);
    }
    return this.#wait();
  }

  /** What the map learned (every `map.flushMs`): summed here per template and hour, with the evidence's next row. */
  putMap(batch: MapBatch): Promise<void> {
    if (batch.counts.length === 0 && batch.seen.length === 0 && batch.collapsed.length === 0) return Promise.resolve();
    for (const c of batch.counts) {
      const position = mapMetricIndex(c.metric);
      if (c.count === 0 || position === undefined) continue;
      (mapVectorIn(this.#mapCounts, c.method, c.template, c.bucket)[position] as number) += c.count;
    }
    for (const s of batch.seen) {
      const key = `${s.method}\u0000${s.template}`;
      const before = this.#mapSeen.get(key);
      this.#mapSeen.set(key, before ? mergedSeen(before, s) : s);
    }
    for (const prefix of batch.collapsed) this.#mapCollapsed.add(prefix);
    return this.#wait();
  }

  /** Writes what is gathered now, without waiting for the interval (a shutdown's last flush). */
  flushNow(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#write();
  }

  #wait(): Promise<void> {
    const settled = new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    if (this.#timer === undefined) {
      const delay = Math.max(0, this.#lastWriteAt + this.minIntervalMs - Date.now());
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.#write();
      }, delay);
      this.#timer.unref();
    }
    return settled;
  }

  #write(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      const waiting = this.#waiting;
      if (waiting.length === 0) return;
      const items = [...this.#shadow.values(), ...this.#unmerged];
      const map = this.#mapCounts.size + this.#mapSeen.size + this.#mapCollapsed.size > 0 ? { c: encodeMap(this.#mapCounts), s: [...this.#mapSeen.values()], x: [...this.#mapCollapsed] } : undefined;
      const payload: InboxPayload = { e: this.#evidence.flat(), ...(this.#retention && items.length > 0 ? { s: { retention: this.#retention, items } } : {}), ...(map ? { m: map } : {}) };
      this.#mapCounts = new Map();
      this.#mapSeen = new Map();
      this.#mapCollapsed = new Set();
      this.#evidence = [];
      this.#shadow = new Map();
      this.#unmerged = [];
      this.#waiting = [];
      this.#lastWriteAt = Date.now();
      try {
        await this.pool.query("INSERT INTO fleet_inbox (payload) VALUES ($1)", [JSON.stringify(payload)]);
        for (const w of waiting) w.resolve();
      } catch (error) {
        for (const w of waiting) w.reject(error as Error);
      }
    });
    return this.#writing;
  }
}

/** Results that may be merged: one route, minute, outcome and set of signatures. */
const mergeKey = (item: EvidenceBatchItem): string =>
  `${item.routeId}\u0000${Math.floor(item.atMs / 60_000)}\u0000${item.outcome}\u0000${item.signatures.map((g) => `${g.path}\u0001${g.kind}`).join("\u0002")}`;

/** Two counted results of one key as one: counts added, the earliest and the latest kept. */
function merged(a: EvidenceBatchItem, b: EvidenceBatchItem): EvidenceBatchItem {
  return {
    routeId: a.routeId,
    outcome: a.outcome,
    signatures: a.signatures,
    atMs: Math.max(a.atMs, b.atMs),
    firstMs: Math.min(a.firstMs ?? a.atMs, b.firstMs ?? b.atMs),
    count: (a.count ?? 1) + (b.count ?? 1),
  };
}

/**
 * Keeps the fleet's stored examples to `examplesPerSignaturePerMinute` for each signature, whatever the
 * number of nodes: each node samples its own (see EvidenceWriter), and the fold takes the first that
 * arrive each minute and keeps the counts of the rest. Held by the folding node; a new judge starts the
 * minute afresh (a minute's examples at most twice).
 */
export class FleetExampleSampler {
  #minute = -1;
  readonly #taken = new Map<string, number>();

  sample(items: readonly EvidenceBatchItem[], perMinute: number, nowMs = Date.now()): EvidenceBatchItem[] {
    const minute = Math.floor(nowMs / 60_000);
    if (minute !== this.#minute) {
      this.#minute = minute;
      this.#taken.clear();
    }
    return items.map((item) => {
      if (item.example === undefined) return item;
      let wanted = false;
      for (const { path, kind } of item.signatures) {
        const key = `${item.routeId}\u0000${path}\u0000${kind}`;
        const taken = this.#taken.get(key) ?? 0;
        if (taken < perMinute) {
          wanted = true;
          this.#taken.set(key, taken + 1);
        }
      }
      if (wanted) return item;
      const { example: _left, ...counted } = item;
      return counted;
    });
  }
}

/** What one fold did: the inbox rows it took (and folded). */
export interface FoldResult {
  readonly inboxRows: number;
}

/** Inbox rows folded in one transaction; a longer inbox (a judge catching up) is folded in several. */
const ROWS_PER_FOLD = 500;

/**
 * Folds the inbox: takes up to ROWS_PER_FOLD rows (skipping any another judge is folding), adds their
 * sums to the folded tables and deletes them, in one transaction, again until the inbox is empty. Two
 * judges overlapping for a moment fold disjoint rows: nothing is counted twice or lost.
 */
export async function foldInbox(
  pool: pg.Pool,
  sampler: FleetExampleSampler,
  /** With the evidence on a database of its own: writes the audit entries of divergences told, after the fold commits. */
  announce?: (entries: ReadonlyArray<Omit<NewAuditEntry, "at">>) => Promise<void>,
): Promise<FoldResult> {
  let inboxRows = 0;
  for (;;) {
    const told: Array<Omit<NewAuditEntry, "at">> = [];
    const taken = await inTransaction(pool, async (client) => {
      const { rows } = await client.query<{ payload: string }>(
        `DELETE FROM fleet_inbox WHERE id IN (SELECT id FROM fleet_inbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING payload`,
        [ROWS_PER_FOLD],
      );
      if (rows.length === 0) return 0;
      const buckets = new Map<string, { routeId: string; at: number; counts: number[] }>();
      const minutes = new Map<string, { routeId: string; at: number; counts: number[] }>();
      const items: EvidenceBatchItem[] = [];
      let retention: EvidenceRetention | undefined;
      const mapCounts = new Map<string, MapVector>();
      const mapSeen = new Map<string, MapSeen>();
      const mapCollapsed = new Set<string>();
      for (const row of rows) {
        const payload = JSON.parse(row.payload) as InboxPayload;
        for (const [routeId, bucket, ...pairs] of payload.e ?? []) {
          const inBucket = vectorIn(buckets, routeId, bucket);
          const minute = minuteOf(bucket);
          let inMinute: number[] | undefined;
          for (let i = 0; i + 1 < pairs.length; i += 2) {
            const position = pairs[i] as number;
            const count = pairs[i + 1] as number;
            (inBucket[position] as number) += count;
            if (isTrafficPosition(position)) {
              inMinute ??= vectorIn(minutes, routeId, minute);
              (inMinute[position] as number) += count;
            }
          }
        }
        if (payload.s) {
          items.push(...payload.s.items);
          retention = payload.s.retention;
        }
        for (const [method, template, bucket, ...pairs] of payload.m?.c ?? []) {
          const into = mapVectorIn(mapCounts, method, template, bucket);
          for (let i = 0; i + 1 < pairs.length; i += 2) (into[pairs[i] as number] as number) += pairs[i + 1] as number;
        }
        for (const s of payload.m?.s ?? []) {
          const key = `${s.method}\u0000${s.template}`;
          const before = mapSeen.get(key);
          mapSeen.set(key, before ? mergedSeen(before, s) : s);
        }
        for (const prefix of payload.m?.x ?? []) mapCollapsed.add(prefix);
      }
      await addVectors(client, "evidence_buckets", "bucket", buckets);
      await addVectors(client, "traffic_minute_counts", "minute", minutes);
      await writeMapBatch(client, [...mapCounts.values()], [...mapSeen.values()], [...mapCollapsed]);
      if (retention && items.length > 0) {
        const perMinute = (retention as EvidenceRetention & { examplesPerSignaturePerMinute?: number }).examplesPerSignaturePerMinute ?? Infinity;
        await writeShadowBatch(client, sampler.sample(items, perMinute), retention, announce ? (entry) => told.push(entry) : undefined);
      }
      return rows.length;
    });
    // Told once: the signature's count crossed the line in the transaction that just committed.
    if (announce && told.length > 0) await announce(told);
    inboxRows += taken;
    if (taken < ROWS_PER_FOLD) return { inboxRows };
  }
}

/** Positions of the metrics kept in the per-minute traffic history (each side's counts). */
const TRAFFIC_POSITIONS: readonly boolean[] = EVIDENCE_METRICS.map(isTrafficMetric);
const isTrafficPosition = (position: number): boolean => TRAFFIC_POSITIONS[position] === true;

function mapVectorIn(into: Map<string, MapVector>, method: string, template: string, bucket: number): number[] {
  const key = `${method}\u0000${template}\u0000${bucket}`;
  let entry = into.get(key);
  if (!entry) into.set(key, (entry = { method, template, bucket, counts: new Array<number>(MAP_METRICS.length).fill(0) }));
  return entry.counts;
}

/** A node's map deltas as the inbox carries them: the non-zero metrics of each template's hour. */
function encodeMap(vectors: ReadonlyMap<string, MapVector>): EncodedMap {
  const out: EncodedMap = [];
  for (const v of vectors.values()) {
    const entry: [string, string, number, ...number[]] = [v.method, v.template, v.bucket];
    v.counts.forEach((n, i) => n !== 0 && entry.push(i, n));
    out.push(entry);
  }
  return out;
}

function vectorIn(into: Map<string, { routeId: string; at: number; counts: number[] }>, routeId: string, at: number): number[] {
  const key = `${routeId}\u0000${at}`;
  let entry = into.get(key);
  if (!entry) into.set(key, (entry = { routeId, at, counts: emptyVector() }));
  return entry.counts;
}

/** One upsert adding every (route, time) array to its stored row, in key order (two folders never deadlock). */
async function addVectors(client: pg.PoolClient, table: "evidence_buckets" | "traffic_minute_counts", column: "bucket" | "minute", vectors: Map<string, { routeId: string; at: number; counts: number[] }>): Promise<void> {
  const rows = [...vectors.values()].sort((a, b) => (a.routeId < b.routeId ? -1 : a.routeId > b.routeId ? 1 : a.at - b.at));
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO ${table} (route_id, ${column}, counts)
     SELECT r, t, c::bigint[] FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(r, t, c)
     ON CONFLICT (route_id, ${column}) DO UPDATE SET counts = strangler_add_counts(${table}.counts, excluded.counts)`,
    [rows.map((r) => r.routeId), rows.map((r) => r.at), rows.map((r) => `{${r.counts.join(",")}}`)],
  );
}
