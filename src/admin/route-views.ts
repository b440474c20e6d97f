import type { RouteConfig } from "../config/schema.ts";
import type { ObservedShare } from "../decision/decision-tally.ts";
import type { RolloutRecord } from "../store/rollout-repository.ts";

/**
 * A route as the admin API shows it: match, backends, configured and live percentage, last change. With an
 * external provider (`observed` given), the live percentage is the share of decisions that provider sent
 * to the target lately (null before any), with source `provider`: never the file's number it ignores.
 */
export function routeView(route: RouteConfig, record: RolloutRecord | undefined, observed?: ObservedShare) {
  return {
    id: route.id,
    match: route.match,
    legacy: route.legacy,
    target: route.target,
    /** The target's own path and Host for this route, when it rewrites them; null when it does not. */
    rewrite: route.rewrite ?? null,
    rollout: observed
      ? {
          configuredPercent: route.rollout.percent,
          livePercent: observed.targetPercent,
          source: "provider" as const,
          observed: { decisions: observed.decisions, windowSeconds: observed.windowSeconds },
          key: route.rollout.key,
          salt: "",
        }
      : {
          configuredPercent: route.rollout.percent,
          livePercent: record?.percent ?? route.rollout.percent,
          source: record?.source ?? "config",
          key: route.rollout.key,
          salt: record?.salt ?? "",
        },
    lastChange: record ? { by: record.changedBy, at: record.changedAt, reason: record.reason, source: record.source } : null,
  };
}
