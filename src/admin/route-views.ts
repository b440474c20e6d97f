import type { RouteConfig } from "../config/schema.ts";
import type { RolloutRecord } from "../store/rollout-repository.ts";

/** A route as the admin API shows it: match, backends, configured and live percentage, last change. */
export function routeView(route: RouteConfig, record: RolloutRecord | undefined) {
  return {
    id: route.id,
    match: route.match,
    legacy: route.legacy,
    target: route.target,
    rollout: {
      configuredPercent: route.rollout.percent,
      livePercent: record?.percent ?? route.rollout.percent,
      source: record?.source ?? "config",
      key: route.rollout.key,
      salt: record?.salt ?? "",
    },
    lastChange: record ? { by: record.changedBy, at: record.changedAt, reason: record.reason, source: record.source } : null,
  };
}
