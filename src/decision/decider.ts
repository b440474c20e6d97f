import type { IncomingMessage } from "node:http";
import { StandardResolutionReasons, type Client } from "@openfeature/server-sdk";
import { flagKeyFor } from "../flags/flag-key.ts";
import type { StranglerRolloutProvider } from "../flags/rollout-provider.ts";
import { stickyKeyOf, type StickyKey } from "../flags/sticky-key.ts";
import { clientOf } from "../edge/client.ts";
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
  /**
   * Our own provider, when it is the one in use: evaluated synchronously, without a promise and the
   * SDK's per-call bookkeeping (about a tenth of the proxy's CPU per request in `npm run bench`). An
   * external provider is always evaluated through the SDK client.
   */
  readonly syncProvider?: StranglerRolloutProvider;
  /** Current settings, read per request so a config reload applies at once. */
  readonly settings: () => { readonly stickyCookie: string; readonly forceSecret: string | undefined };
}

/**
 * Decides through OpenFeature: the flag `strangler.route.<id>` evaluated with the request's sticky key
 * as `targetingKey`. A forced-routing header with the right secret wins. Anything but the variant
 * `target` (including a provider error) means legacy: the monolith is the safe answer.
 */
export function createFlagDecider({ client, settings, syncProvider }: FlagDeciderOptions): RoutingDecider {
  const decision = (value: string, reason: string | undefined, sticky: StickyKey): Decision =>
    sticky.setCookie
      ? { role: value === "target" ? "target" : "legacy", reason: reason ?? "UNKNOWN", key: sticky.key, setCookie: sticky.setCookie }
      : { role: value === "target" ? "target" : "legacy", reason: reason ?? "UNKNOWN", key: sticky.key };
  const contextOf = (route: CompiledRoute, req: IncomingMessage, sticky: StickyKey) => ({
    targetingKey: sticky.key,
    routeId: route.id,
    method: req.method ?? "GET",
    clientAddress: clientOf(req).address,
  });
  return {
    decide(route, req) {
      const { stickyCookie, forceSecret } = settings();
      const forced = forcedRole(req.headers, forceSecret);
      if (forced) return { role: forced, reason: "FORCED" };
      const sticky = stickyKeyOf(req, route.config.rollout.key, stickyCookie);
      if (syncProvider) {
        const variant = syncProvider.variantFor(route.id, sticky.key);
        if (variant !== undefined) return decision(variant, StandardResolutionReasons.SPLIT, sticky);
        // An error (no such route, no key): the provider's own answer says which.
        const details = syncProvider.resolveSync(flagKeyFor(route.id), "legacy", contextOf(route, req, sticky));
        return decision(details.value, details.reason, sticky);
      }
      return client.getStringDetails(flagKeyFor(route.id), "legacy", contextOf(route, req, sticky)).then((details) => decision(details.value, details.reason, sticky));
    },
  };
}
