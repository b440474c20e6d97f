import type { RouteConfig } from "../config/schema.ts";
import { LATENCY_BUCKETS_MS, quantileFromBuckets } from "../guard/statistics.ts";
import { buildRouteTable } from "../routing/route-table.ts";
import type { MapSnapshot } from "../store/map-store.ts";
import { TemplateTrie, type TrieLimits } from "./template-trie.ts";
import { OVERFLOW_TEMPLATE } from "./traffic-map.ts";

/** One endpoint of the monolith (or of a service that took it over), as the map shows it. */
export interface TemplateView {
  readonly method: string;
  readonly template: string;
  readonly requests: number;
  /** Of all requests in the window. */
  readonly share: number;
  /** Of this template's requests, the share extracted services answered. */
  readonly servedByServices: number;
  readonly status: { readonly "1xx": number; readonly "2xx": number; readonly "3xx": number; readonly "4xx": number; readonly "5xx": number; readonly cut: number };
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly bytes: number;
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
  /** The last time the monolith answered it. */
  readonly lastMonolithAt: string | null;
  /** The route that claims it now (by the current route table), or null: the monolith's alone. */
  readonly route: string | null;
  /** The template as that route's target is sent it (the route's `rewrite`), or null when it is sent as is. */
  readonly targetTemplate: string | null;
}

export interface MigrationMap {
  readonly windowMs: number;
  readonly requests: number;
  readonly servedByServices: number | null;
  readonly templates: { readonly total: number; readonly claimed: number; readonly unclaimed: number };
  /** Requests the full trie could not fold (past `map.maxTrieNodes`). */
  readonly overflow: number;
  /** Per hour: the share of requests answered by services. */
  readonly hours: ReadonlyArray<{ readonly at: string; readonly requests: number; readonly servedByServices: number | null }>;
  readonly rows: readonly TemplateView[];
  /** Per route claiming templates: its traffic, and when the monolith last answered any of them (proof of death). */
  readonly routes: ReadonlyArray<{ readonly id: string; readonly requests: number; readonly servedByServices: number; readonly lastMonolithAt: string | null }>;
}

interface Acc {
  method: string;
  template: string;
  metrics: Map<string, number>;
  firstSeen: number | null;
  lastSeen: number | null;
  lastLegacyAt: number | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const min = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const max = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** A path that the template matches, to ask the route table which route claims the template. */
export const samplePath = (template: string) => template.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, "1").replace(/\/\*$/, "/x");

/**
 * The map as read from the store: stored templates folded once more through one trie (with every
 * position any process collapsed), so rows written before a collapse, or by a node that had not yet
 * collapsed, join their template; then each matched against the current route table.
 */
export function buildMap(snapshot: MapSnapshot, routes: readonly RouteConfig[], limits: TrieLimits, windowMs: number): MigrationMap {
  const trie = new TemplateTrie({ ...limits, maxNodes: Number.MAX_SAFE_INTEGER });
  for (const prefix of snapshot.collapsed) trie.collapse(prefix);
  const accs = new Map<string, Acc>();
  const accOf = (method: string, stored: string): Acc => {
    const template = stored === OVERFLOW_TEMPLATE ? stored : (trie.fold(stored) ?? stored);
    const key = `${method} ${template}`;
    let acc = accs.get(key);
    if (!acc) accs.set(key, (acc = { method, template, metrics: new Map(), firstSeen: null, lastSeen: null, lastLegacyAt: null }));
    return acc;
  };
  // Fold the literal templates first, so that a collapse they trigger applies to all of them alike.
  for (const c of snapshot.counts) if (c.template !== OVERFLOW_TEMPLATE) trie.fold(c.template);
  for (const c of snapshot.counts) {
    const acc = accOf(c.method, c.template);
    acc.metrics.set(c.metric, (acc.metrics.get(c.metric) ?? 0) + c.count);
  }
  for (const s of snapshot.seen) {
    const acc = accOf(s.method, s.template);
    acc.firstSeen = min(acc.firstSeen, s.firstSeen);
    acc.lastSeen = max(acc.lastSeen, s.lastSeen);
    acc.lastLegacyAt = max(acc.lastLegacyAt, s.lastLegacyAt);
  }
  const table = buildRouteTable(routes);
  const all = [...accs.values()].filter((a) => (a.metrics.get("requests") ?? 0) > 0);
  const total = all.reduce((sum, a) => sum + (a.metrics.get("requests") ?? 0), 0);
  const rows = all
    .map((a): TemplateView => {
      const m = (name: string) => a.metrics.get(name) ?? 0;
      const claimed = a.template === OVERFLOW_TEMPLATE ? undefined : table.match(a.method, samplePath(a.template), {});
      const requests = m("requests");
      const latency = LATENCY_BUCKETS_MS.map((_, i) => m(`le.${i}`));
      const overflow = a.template === OVERFLOW_TEMPLATE;
      return {
        method: a.method,
        template: a.template,
        requests,
        share: total === 0 ? 0 : requests / total,
        servedByServices: requests === 0 ? 0 : m("target") / requests,
        status: { "1xx": m("status.1"), "2xx": m("status.2"), "3xx": m("status.3"), "4xx": m("status.4"), "5xx": m("status.5"), cut: m("status.0") },
        p50Ms: quantileFromBuckets(latency, 0.5) ?? null,
        p99Ms: quantileFromBuckets(latency, 0.99) ?? null,
        bytes: m("bytes"),
        firstSeen: iso(a.firstSeen),
        lastSeen: iso(a.lastSeen),
        lastMonolithAt: iso(a.lastLegacyAt),
        route: overflow ? null : (claimed?.id ?? null),
        // The rewrite moves whole segments, so it maps a template (`:param`, `*`) as it maps a path.
        targetTemplate: claimed?.targetPath ? claimed.targetPath(a.template) : null,
      };
    })
    .sort((a, b) => b.requests - a.requests || (a.template < b.template ? -1 : 1));
  const byServices = all.reduce((sum, a) => sum + (a.metrics.get("target") ?? 0), 0);
  const real = rows.filter((r) => r.template !== OVERFLOW_TEMPLATE);
  const perRoute = new Map<string, { requests: number; target: number; last: string | null }>();
  for (const r of real) {
    if (r.route === null) continue;
    const acc = perRoute.get(r.route) ?? { requests: 0, target: 0, last: null };
    acc.requests += r.requests;
    acc.target += r.servedByServices * r.requests;
    // ISO strings of one format order as the times do.
    if (r.lastMonolithAt !== null && (acc.last === null || r.lastMonolithAt > acc.last)) acc.last = r.lastMonolithAt;
    perRoute.set(r.route, acc);
  }
  return {
    windowMs,
    requests: total,
    servedByServices: total === 0 ? null : byServices / total,
    templates: { total: real.length, claimed: real.filter((r) => r.route !== null).length, unclaimed: real.filter((r) => r.route === null).length },
    overflow: rows.find((r) => r.template === OVERFLOW_TEMPLATE)?.requests ?? 0,
    hours: snapshot.hours.map((h) => ({ at: new Date(h.bucket).toISOString(), requests: h.legacy + h.target, servedByServices: h.legacy + h.target === 0 ? null : h.target / (h.legacy + h.target) })),
    rows,
    routes: [...perRoute].map(([id, a]) => ({ id, requests: a.requests, servedByServices: a.requests === 0 ? 0 : Math.round((a.target / a.requests) * 1e6) / 1e6, lastMonolithAt: a.last })).sort((a, b) => (a.id < b.id ? -1 : 1)),
  };
}
