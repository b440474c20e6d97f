import type { IncomingMessage } from "node:http";
import type { Client } from "@openfeature/server-sdk";
import { flagKeyFor } from "../flags/flag-key.ts";
import { stickyKeyOf } from "../flags/sticky-key.ts";
import type { CompiledRoute } from "../routing/route-table.ts";
import { forcedRole } from "./forced-routing.ts";

/** Which of a route's two backends serves a request. */
export type BackendRole = "legacy" | "target";

/** The answer of the decision seam. */
export interface Decision {
  readonly role: BackendRole;
  /** Why: `SPLIT` (the rollout), `FORCED` (QA header), or the flag's error reason (then `legacy`). */
  readonly reason: string;
  /** A Set-Cookie header to send back when the proxy issued the client a sticky id. */
  readonly setCookie?: string;
  /** The sticky key the decision was made with (absent when forced); shadow sampling uses it too. */
  readonly key?: string;
}

/**
 * The one decision seam: everything that changes routing (the config file, the admin API, guards,
 * forced routing) changes what this answers, and nothing else.
 */
export interface RoutingDecider {
  decide(route: CompiledRoute, req: IncomingMessage): Decision | Promise<Decision>;
}

export interface FlagDeciderOptions {
  /** An OpenFeature client bound to the provider that decides routes. */
  readonly client: Client;
  /** Current settings, read per request so a config reload applies at once. */
  readonly settings: () => { readonly stickyCookie: string; readonly forceSecret: string | undefined };
}

/**
 * Decides through OpenFeature: the flag `strangler.route.<id>` evaluated with the request's sticky key
 * as `targetingKey`. A forced-routing header with the right secret wins. Anything but the variant
 * `target` (including a provider error) means legacy: the monolith is the safe answer.
 */
export function createFlagDecider({ client, settings }: FlagDeciderOptions): RoutingDecider {
  return {
    async decide(route, req) {
      const { stickyCookie, forceSecret } = settings();
      const forced = forcedRole(req.headers, forceSecret);
      if (forced) return { role: forced, reason: "FORCED" };
      const sticky = stickyKeyOf(req, route.config.rollout.key, stickyCookie);
      const details = await client.getStringDetails(flagKeyFor(route.id), "legacy", {
        targetingKey: sticky.key,
        routeId: route.id,
        method: req.method ?? "GET",
        clientAddress: req.socket.remoteAddress ?? "",
      });
      const role: BackendRole = details.value === "target" ? "target" : "legacy";
      return { role, reason: details.reason ?? "UNKNOWN", key: sticky.key, ...(sticky.setCookie ? { setCookie: sticky.setCookie } : {}) };
    },
  };
}
