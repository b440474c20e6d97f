import type { Logger } from "pino";
import type { Clock } from "../guard/clock.ts";
import { LATENCY_BUCKETS_MS, latencyBucket } from "../guard/statistics.ts";
import type { MapCount, MapSeen, MapStore } from "../store/map-store.ts";
import { TemplateTrie, type TrieLimits } from "./template-trie.ts";
import { flushEvery } from "../store/flush-timer.ts";

/** The template under which requests the full trie could not fold are counted. */
export const OVERFLOW_TEMPLATE = "(overflow)";
const HOUR_MS = 3_600_000;

/** What the data plane tells the map of each finished exchange. */
export interface TrafficRecorder {
  record(method: string, path: string, routeId: string | undefined, side: "legacy" | "target", status: number, completed: boolean, ms: number, bytes: number | undefined): void;
}

interface Counts {
  requests: number;
  legacy: number;
  target: number;
  /** Index: status class (1–5), 0 for an exchange cut before its answer. */
  readonly status: number[];
  readonly latency: number[];
  bytes: number;
}

interface Pending {
  readonly method: string;
  template: string;
  routeId: string | null;
  firstSeen: number;
  lastSeen: number;
  lastLegacyAt: number | null;
  lastTargetAt: number | null;
  readonly hours: Map<number, Counts>;
  /** The counts of the hour last recorded, kept at hand: the common request skips the hour lookup. */
  currentHour: number;
  current: Counts | undefined;
}

const emptyCounts = (): Counts => ({ requests: 0, legacy: 0, target: 0, status: new Array<number>(6).fill(0), latency: new Array<number>(LATENCY_BUCKETS_MS.length).fill(0), bytes: 0 });

export interface TrafficMapOptions {
  readonly store: MapStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly limits: TrieLimits;
  /** Called with the number of requests the full trie could not fold. */
  readonly onOverflow?: (requests: number) => void;
}

/**
 * The migration map as this process learns it: each finished exchange is folded into its endpoint
 * template (template-trie.ts) and counted in memory, per hour; every `flushMs` the deltas and sightings go
 * to the store in one transaction, where every process and node adds to one map. No raw path or query is
 * kept: only templates, whose ids are parameters. Memory is bounded by the trie's node limit (one pending
 * entry per template and method, plus the overflow entry).
 */
export class TrafficMap implements TrafficRecorder {
  readonly trie: TemplateTrie;
  #pending = new Map<string, Pending>();
  /** The same entries by method, then template: the hot path's lookup, without building a key. */
  #byMethod = new Map<string, Map<string, Pending>>();
  readonly #flushedCollapses = new Set<string>();
  #writing: Promise<void> = Promise.resolve();
  #failing = false;
  /** Requests counted under OVERFLOW_TEMPLATE since start. */
  overflow = 0;
  /** Per route, the last time this process saw the monolith answer it (for the metrics). */
  readonly lastMonolithByRoute = new Map<string, number>();

  constructor(private readonly options: TrafficMapOptions) {
    this.trie = new TemplateTrie(options.limits);
  }

  record(method: string, path: string, routeId: string | undefined, side: "legacy" | "target", status: number, completed: boolean, ms: number, bytes: number | undefined): void {
    let template = this.trie.fold(path);
    if (template === undefined) {
      template = OVERFLOW_TEMPLATE;
      this.overflow++;
      this.options.onOverflow?.(1);
    }
    const now = this.options.clock.now();
    let byTemplate = this.#byMethod.get(method);
    if (!byTemplate) this.#byMethod.set(method, (byTemplate = new Map()));
    let entry = byTemplate.get(template);
    if (!entry) {
      entry = { method, template, routeId: routeId ?? null, firstSeen: now, lastSeen: now, lastLegacyAt: null, lastTargetAt: null, hours: new Map(), currentHour: -1, current: undefined };
      byTemplate.set(template, entry);
      this.#pending.set(`${method} ${template}`, entry);
    }
    entry.routeId = routeId ?? null;
    entry.lastSeen = now;
    if (side === "legacy") {
      entry.lastLegacyAt = now;
      if (routeId !== undefined) this.lastMonolithByRoute.set(routeId, now);
    } else entry.lastTargetAt = now;
    const hour = now - (now % HOUR_MS);
    let counts = entry.currentHour === hour ? entry.current : entry.hours.get(hour);
    if (!counts) entry.hours.set(hour, (counts = emptyCounts()));
    entry.currentHour = hour;
    entry.current = counts;
    counts.requests++;
    counts[side]++;
    (counts.status[completed ? Math.min(5, Math.max(1, Math.floor(status / 100))) : 0] as number)++;
    (counts.latency[latencyBucket(ms)] as number)++;
    if (bytes !== undefined) counts.bytes += bytes;
  }

  /** Writes what was learned since the last flush (after any write already under way). */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  async #write(): Promise<void> {
    const collapsed = [...this.trie.collapsedPrefixes].filter((p) => !this.#flushedCollapses.has(p));
    if (this.#pending.size === 0 && collapsed.length === 0) return;
    const batch = this.#refolded(this.#pending);
    this.#pending = new Map();
    this.#byMethod = new Map();
    const counts: MapCount[] = [];
    const seen: MapSeen[] = [];
    for (const e of batch.values()) {
      seen.push({ method: e.method, template: e.template, routeId: e.routeId, firstSeen: e.firstSeen, lastSeen: e.lastSeen, lastLegacyAt: e.lastLegacyAt, lastTargetAt: e.lastTargetAt });
      for (const [bucket, c] of e.hours) {
        const push = (metric: string, count: number) => {
          if (count !== 0) counts.push({ method: e.method, template: e.template, bucket, metric, count });
        };
        push("requests", c.requests);
        push("legacy", c.legacy);
        push("target", c.target);
        c.status.forEach((n, i) => push(`status.${i}`, n));
        c.latency.forEach((n, i) => push(`le.${i}`, n));
        push("bytes", c.bytes);
      }
    }
    try {
      await this.options.store.add({ counts, seen, collapsed });
      for (const p of collapsed) this.#flushedCollapses.add(p);
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) this.options.logger.warn({ err: (error as Error).message }, "could not write the migration map to the store; keeping it for the next flush");
      this.#failing = true;
      // Put it back under what arrived meanwhile: bounded, one entry per template as before.
      for (const [key, e] of this.#refolded(batch)) {
        const current = this.#pending.get(key);
        const entry = current ? merged(e, current) : e;
        this.#pending.set(key, entry);
        let byTemplate = this.#byMethod.get(entry.method);
        if (!byTemplate) this.#byMethod.set(entry.method, (byTemplate = new Map()));
        byTemplate.set(entry.template, entry);
      }
    }
  }

  /** Entries folded again through the trie as it is now: a position that collapsed meanwhile merges its literals. */
  #refolded(entries: Map<string, Pending>): Map<string, Pending> {
    const out = new Map<string, Pending>();
    for (const e of entries.values()) {
      const template = e.template === OVERFLOW_TEMPLATE ? e.template : (this.trie.fold(e.template) ?? e.template);
      const key = `${e.method} ${template}`;
      const current = out.get(key);
      e.template = template;
      out.set(key, current ? merged(current, e) : e);
    }
    return out;
  }

  /** Flushes every `flushMs` until stopped; the last flush runs on stop. */
  start(flushMs: number): () => Promise<void> {
    return flushEvery(() => this.flush(), flushMs);
  }
}

const later = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** Two entries of one template as one: counts added, the earliest first sight, the latest of the rest. */
function merged(a: Pending, b: Pending): Pending {
  const hours = new Map(a.hours);
  for (const [bucket, c] of b.hours) {
    const mine = hours.get(bucket);
    if (!mine) {
      hours.set(bucket, c);
      continue;
    }
    const sum = emptyCounts();
    sum.requests = mine.requests + c.requests;
    sum.legacy = mine.legacy + c.legacy;
    sum.target = mine.target + c.target;
    sum.bytes = mine.bytes + c.bytes;
    sum.status.forEach((_, i) => ((sum.status[i] as number) = (mine.status[i] as number) + (c.status[i] as number)));
    sum.latency.forEach((_, i) => ((sum.latency[i] as number) = (mine.latency[i] as number) + (c.latency[i] as number)));
    hours.set(bucket, sum);
  }
  const newest = b.lastSeen >= a.lastSeen ? b : a;
  return {
    method: a.method,
    template: a.template,
    routeId: newest.routeId,
    firstSeen: Math.min(a.firstSeen, b.firstSeen),
    lastSeen: Math.max(a.lastSeen, b.lastSeen),
    lastLegacyAt: later(a.lastLegacyAt, b.lastLegacyAt),
    lastTargetAt: later(a.lastTargetAt, b.lastTargetAt),
    hours,
    currentHour: -1,
    current: undefined,
  };
}
