import type { ObservedShare } from "../decision/decision-tally.ts";
import type { RouteConfig } from "../config/schema.ts";
import type { EvidenceSummary, SideSummary } from "../guard/evidence-summary.ts";
import type { EvidenceSource } from "../guard/fleet-evidence.ts";
import type { MigrationService } from "../guard/migration-service.ts";
import { UNROUTED } from "../metrics/proxy-metrics.ts";
import type { RolloutService } from "../rollout/rollout-service.ts";
import type { ShadowRunner } from "../shadow/shadow-runner.ts";
import type { ShadowStore } from "../store/shadow-store.ts";
import type { EvidenceStore, TrafficMinute } from "../store/evidence-store.ts";
import type { Clock } from "../guard/clock.ts";
import { routeView } from "./route-views.ts";
import { auditSentence } from "./audit-sentence.ts";

export interface OverviewSources {
  readonly routes: () => readonly RouteConfig[];
  readonly rollouts: RolloutService;
  readonly migrations: MigrationService;
  /** The fleet's evidence: the dashboard shows every node's traffic, as the guards judge it. */
  readonly evidence: EvidenceSource;
  readonly shadows: ShadowRunner;
  readonly shadowEvidence: ShadowStore;
  /** The per-minute traffic history (the store's, every node's), for sparklines and charts. */
  readonly traffic: Pick<EvidenceStore, "history" | "histories">;
  /** Writes this node's pending evidence now, so that a chart includes the last second's traffic. */
  readonly flushTraffic: () => Promise<void>;
  readonly clock: Clock;
  /** How often the judge evaluates guards and promotion (`guards.intervalMs`): the timeline's countdown. */
  readonly judgeEveryMs: () => number;
  /** With an external provider: what it decided lately, per route. */
  readonly observed?: (routeId: string) => ObservedShare;
}

/** Traffic over the last minute is shown as rates; shadow evidence over the last hour. */
const TRAFFIC_WINDOW_MS = 60_000;
const SHADOW_WINDOW_MINUTES = 60;
/** The migration progress figure weighs the last five minutes of traffic. */
const PROGRESS_WINDOW_MS = 300_000;

/** Open signatures read per route for the table's top three: noise among them is left out after the read. */
const TOP_SIGNATURES_READ = 20;

/** The sparkline's span: the last hour, a point a minute. */
const SPARK_MINUTES = 60;

/** Each minute's share of requests served by the target and its error rate (both sides), for a sparkline. */
function sparkline(minutes: readonly TrafficMinute[]) {
  return minutes.map((m) => {
    const requests = m.legacy.requests + m.target.requests;
    return { minute: m.minute, requests, targetShare: requests === 0 ? null : m.target.requests / requests, errorRate: requests === 0 ? null : (m.legacy.errors + m.target.errors) / requests };
  });
}

/** A minute of traffic as the charts plot it: each side's requests, error rate and p99. */
const chartSide = (s: SideSummary) => ({ requests: s.requests, errors: s.errors, errorRate: s.requests === 0 ? null : s.errors / s.requests, p99Ms: s.p99Ms ?? null });

function side(s: SideSummary, windowMs: number) {
  return {
    rps: Math.round((s.requests / (windowMs / 1000)) * 100) / 100,
    requests: s.requests,
    errorRate: s.requests === 0 ? null : s.errors / s.requests,
    p50Ms: s.p50Ms ?? null,
    p99Ms: s.p99Ms ?? null,
  };
}

/**
 * Everything the dashboard's table shows, in one answer: each route's state, percentages, traffic split
 * and latency of each side, shadow match rate, top divergences, noise, last change; and the migration's
 * overall progress (share of all traffic served by extracted services, routes per state).
 */
export async function buildOverview(sources: OverviewSources) {
  const now = sources.clock.now();
  // A write read back at once (SQLite): this process's last results are shown too. On PostgreSQL the
  // page shows the judge's last fold and waits for no write.
  if (!sources.shadowEvidence.foldedByJudge) await sources.shadows.flush();
  const configured = sources.routes();
  const ids = configured.map((r) => r.id);
  const thisMinute = Math.floor(now / 60_000);
  // A fixed number of reads per refresh, whatever the number of routes (issue 32): each kind of evidence
  // for every route at once.
  const [traffic, progress, outcomes, signatures, noise, lastHour] = await Promise.all([
    sources.evidence.summaries(ids.map((routeId) => ({ routeId, fromMs: now - TRAFFIC_WINDOW_MS }))),
    sources.evidence.summaries([...ids, UNROUTED].map((routeId) => ({ routeId, fromMs: now - PROGRESS_WINDOW_MS }))),
    sources.shadowEvidence.outcomesOf(ids, Math.floor(Date.now() / 60_000) - SHADOW_WINDOW_MINUTES + 1),
    // Noise is left out after the read: enough of each route's most frequent to show three that are not.
    sources.shadowEvidence.topSignatures(ids, "open", TOP_SIGNATURES_READ),
    sources.shadowEvidence.noise(),
    sources.traffic.histories(ids, thisMinute - SPARK_MINUTES + 1, thisMinute + 1),
  ]);
  const routes = configured.map((route, i) => {
    const seen = traffic[i] as EvidenceSummary;
    // Rates over the span the evidence covers (it starts at a bucket's start, a little before the minute).
    const spanMs = Math.max(1, seen.toMs - seen.fromMs);
    const counted = outcomes.get(route.id) ?? { match: 0, diverge: 0, error: 0, skipped: 0 };
    const compared = counted.match + counted.diverge + counted.error;
    const minOccurrences = route.shadow?.noise.minOccurrences ?? 2;
    const isNoise = (path: string, kind: string) => sources.shadows.noise.isNoise(route.id, path, kind, minOccurrences);
    const open = (signatures.get(route.id) ?? []).filter((s) => !isNoise(s.path, s.kind));
    const routeNoise = route.shadow ? noise.filter((n) => n.routeId === route.id) : [];
    const migration = sources.migrations.get(route.id);
    return {
      ...routeView(route, sources.rollouts.state.record(route.id), sources.observed?.(route.id)),
      state: migration?.state ?? null,
      promotion: migration
        ? {
            status: migration.promotion,
            step: migration.stepIndex,
            steps: route.promote?.steps ?? null,
            // A gate holding the next step: the table says so, since someone must act.
            waitingForApproval: migration.awaitingSince !== null && route.promote ? { since: new Date(migration.awaitingSince).toISOString(), percent: route.promote.steps[(migration.stepIndex ?? 0) + 1] ?? null } : null,
          }
        : null,
      traffic: { legacy: side(seen.legacy, spanMs), target: side(seen.target, spanMs), fallbacks: seen.fallbacks },
      sparkline: { fromMinute: thisMinute - SPARK_MINUTES + 1, toMinute: thisMinute, points: sparkline(lastHour.get(route.id) ?? []) },
      shadow: route.shadow
        ? {
            compared,
            matchRate: compared === 0 ? null : counted.match / compared,
            skipped: counted.skipped,
            topDivergences: open.slice(0, 3).map((s) => ({ id: s.id, path: s.path, kind: s.kind, count: s.count })),
            noise: [...new Set(routeNoise.filter((n) => isNoise(n.path, n.kind)).map((n) => n.path))],
          }
        : null,
    };
  });
  let served = 0;
  let byServices = 0;
  for (const s of progress) {
    served += s.legacy.requests + s.target.requests;
    byServices += s.target.requests;
  }
  const states: Record<string, number> = {};
  for (const r of routes) if (r.state) states[r.state] = (states[r.state] ?? 0) + 1;
  return {
    generatedAt: new Date(now).toISOString(),
    progress: { servedByServices: served === 0 ? null : byServices / served, requests: served, windowMs: PROGRESS_WINDOW_MS, states },
    routes,
  };
}

/** A route's history for its chart: live percentage over time (from the audit log) and match rate per minute. */
export async function buildHistory(sources: OverviewSources, routeId: string, hours: number) {
  const since = new Date(Date.now() - hours * 3_600_000).toISOString();
  const entries = (await sources.rollouts.store.audit({ limit: 500, routeId })).filter((e) => e.at >= since);
  const percentOf = (v: unknown) => (v !== null && typeof v === "object" && typeof (v as { percent?: unknown }).percent === "number" ? (v as { percent: number }).percent : undefined);
  const changes = entries.filter((e) => percentOf(e.newValue) !== undefined);
  const percent = changes.map((e) => ({ at: e.at, percent: percentOf(e.newValue) as number, by: e.actor, action: e.action })).reverse();
  // The percentage when the span began: what its first change changed from (entries are newest first).
  // A route added within the span starts at the percentage it was added with.
  const oldest = changes[changes.length - 1];
  const percentAtStart = oldest ? (percentOf(oldest.oldValue) ?? percentOf(oldest.newValue) ?? null) : null;
  await sources.flushTraffic();
  const thisMinute = Math.floor(sources.clock.now() / 60_000);
  const fromMinute = thisMinute - Math.round(hours * 60) + 1;
  const minutes = await sources.shadowEvidence.outcomesByMinute(routeId, fromMinute);
  const traffic = (await sources.traffic.history(routeId, fromMinute, thisMinute + 1)).map((m) => ({ minute: m.minute, legacy: chartSide(m.legacy), target: chartSide(m.target) }));
  return {
    routeId,
    hours,
    fromMinute,
    toMinute: thisMinute,
    percent,
    percentAtStart,
    currentPercent: sources.rollouts.state.get(routeId)?.percent ?? null,
    matchRate: minutes,
    traffic,
    judgeEveryMs: sources.judgeEveryMs(),
    // Newest first, each with the sentence the page shows ("guard rolled back to 0% and halted the route: …").
    audit: entries.slice(0, 50).map((e) => ({ ...e, sentence: auditSentence(e) })),
  };
}
