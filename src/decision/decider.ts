import type { IncomingMessage } from "node:http";
import type { CompiledRoute } from "../routing/route-table.ts";
import { bucketOf, inRollout } from "./bucketing.ts";

/** Which of a route's two backends serves a request. */
export type BackendRole = "legacy" | "target";

/**
 * The one decision seam: everything that changes routing (the config file, later the admin API, guards,
 * forced routing) changes what this answers, and nothing else. May answer synchronously (the fast path)
 * or with a promise when the decision needs I/O.
 */
export interface RoutingDecider {
  decide(route: CompiledRoute, req: IncomingMessage): BackendRole | Promise<BackendRole>;
}

/** The header whose value keeps a user on one side; the client address when absent. */
export const DEFAULT_STICKY_HEADER = "x-user-id";

/** The key a request is bucketed by: the sticky header, else the client's address. */
export function stickyKeyOf(req: IncomingMessage, header = DEFAULT_STICKY_HEADER): string {
  const value = req.headers[header];
  if (typeof value === "string" && value !== "") return value;
  return req.socket.remoteAddress ?? "";
}

/**
 * Decides by the route's configured percentage with deterministic bucketing: sticky per user,
 * monotonic as the percentage rises.
 */
export function createPercentageDecider(): RoutingDecider {
  return {
    decide(route, req) {
      const percent = route.config.rollout.percent;
      if (percent <= 0) return "legacy";
      if (percent >= 100) return "target";
      return inRollout(bucketOf(route.id, stickyKeyOf(req)), percent) ? "target" : "legacy";
    },
  };
}
