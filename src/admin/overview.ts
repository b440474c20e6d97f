import type { ObservedShare } from "../decision/decision-tally.ts";
import type { RouteConfig } from "../config/schema.ts";
import type { SideSummary } from "../guard/evidence-summary.ts";
import type { EvidenceSource } from "../guard/fleet-evidence.ts";
import type { MigrationService } from "../guard/migration-service.ts";
import { UNROUTED } from "../metrics/proxy-metrics.ts";
import type { RolloutService } from "../rollout/rollout-service.ts";
import type { ShadowRunner } from "../shadow/shadow-runner.ts";
import type { ShadowStore } from "../store/shadow-store.ts";
import type { Clock } from "../guard/clock.ts";
import { routeView } from "./route-views.ts";

export interface OverviewSources {
  readonly routes: () => readonly RouteConfig[];
  readonly rollouts: RolloutService;
  readonly migrations: MigrationService;
  /** The fleet's evidence: the dashboard shows every node's traffic, as the guards judge it. */
  readonly evidence: EvidenceSource;
  readonly shadows: ShadowRunner;
  readonly shadowEvidence: ShadowStore;
  readonly clock: Clock;
  /** With an external provider: what it decided lately, per route. */
  readonly observed?: (routeId: string) => ObservedShare;
}

/** Traffic over the last minute is shown as rates; shadow evidence over the last hour. */
const TRAFFIC_WINDOW_MS = 60_000;
const SHADOW_WINDOW_MINUTES = 60;
/** The migration progress figure weighs the last five minutes of traffic. */
const PROGRESS_WINDOW_MS = 300_000;

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
  await sources.shadows.flush();
  const routes = await Promise.all(sources.routes().map(async (route) => {
    const traffic = await sources.evidence.summary(route.id, now - TRAFFIC_WINDOW_MS);
    // Rates over the span the evidence covers (it starts at a bucket's start, a little before the minute).
    const spanMs = Math.max(1, traffic.toMs - traffic.fromMs);
    const outcomes = await sources.shadowEvidence.outcomes(route.id, Math.floor(Date.now() / 60_000) - SHADOW_WINDOW_MINUTES + 1);
    const compared = outcomes.match + outcomes.diverge + outcomes.error;
    const minOccurrences = route.shadow?.noise.minOccurrences ?? 2;
    const isNoise = (path: string, kind: string) => kind !== "status" && kind !== "error" && sources.shadows.noise.isNoise(route.id, path, minOccurrences);
    const signatures = (await sources.shadowEvidence.signatures(route.id, "open")).filter((s) => !isNoise(s.path, s.kind));
    const noise = route.shadow ? await sources.shadowEvidence.noise(route.id) : [];
    const migration = sources.migrations.get(route.id);
    return {
      ...routeView(route, sources.rollouts.state.record(route.id), sources.observed?.(route.id)),
      state: migration?.state ?? null,
      promotion: migration ? { status: migration.promotion, step: migration.stepIndex, steps: route.promote?.steps ?? null } : null,
      traffic: { legacy: side(traffic.legacy, spanMs), target: side(traffic.target, spanMs), fallbacks: traffic.fallbacks },
      shadow: route.shadow
        ? {
            compared,
            matchRate: compared === 0 ? null : outcomes.match / compared,
            skipped: outcomes.skipped,
            topDivergences: signatures.slice(0, 3).map((s) => ({ id: s.id, path: s.path, kind: s.kind, count: s.count })),
            noise: noise.filter((n) => isNoise(n.path, "changed")).map((n) => n.path),
          }
        : null,
    };
  }));
  let served = 0;
  let byServices = 0;
  for (const id of [...routes.map((r) => r.id), UNROUTED]) {
    const s = await sources.evidence.summary(id, now - PROGRESS_WINDOW_MS);
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
  const percent = entries
    .filter((e) => e.newValue !== null && typeof e.newValue === "object" && typeof (e.newValue as { percent?: unknown }).percent === "number")
    .map((e) => ({ at: e.at, percent: (e.newValue as { percent: number }).percent, by: e.actor, action: e.action }))
    .reverse();
  const minutes = await sources.shadowEvidence.outcomesByMinute(routeId, Math.floor(Date.now() / 60_000) - hours * 60);
  return { routeId, hours, percent, currentPercent: sources.rollouts.state.get(routeId)?.percent ?? null, matchRate: minutes, audit: entries.slice(0, 50) };
}
