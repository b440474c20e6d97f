import type { Logger } from "pino";
import { routeConfigVersion } from "../config/config-version.ts";
import type { RouteConfig } from "../config/schema.ts";
import { Recorder } from "../recording/recorder.ts";
import type { RedactionRules } from "../redaction/redactor.ts";
import type { Stores } from "../store/open-stores.ts";
import type { LiveState } from "./live-state.ts";

/**
 * Recording for replay: the recorder the data plane hands exchanges of recorded routes to, following the
 * recordings the store holds (started through this node or another), redacting with the same rules and
 * pseudonym key as shadow examples. The judge prunes stopped recordings past `recording.retentionDays` (fleet-wiring.ts).
 */
export async function wireRecording(deps: { readonly stores: Stores; readonly logger: Logger; readonly live: LiveState; readonly redaction: () => RedactionRules }): Promise<Recorder> {
  const route = routesById(deps.live);
  const configVersion = (routeId: string) => {
    const found = route(routeId);
    return found ? routeConfigVersion(found) : "";
  };
  const recorder = new Recorder({
    store: deps.stores.recordings,
    settings: () => deps.live.config.recording,
    redaction: deps.redaction,
    logger: deps.logger,
    configVersion,
    bodyFields: (routeId) => route(routeId)?.shadow?.redact.bodyFields ?? [],
    // In the audit trail like a stop by hand, so the route's timeline and the webhooks (recording.finished) hear of it.
    stoppedByItself: (record, reason) =>
      deps.stores.rollouts.appendAudit({
        actor: "recorder",
        action: "recording_stopped",
        routeId: record.routeId,
        oldValue: { recording: record.id },
        newValue: { exchanges: record.exchanges, stopReason: reason },
        reason: reason === "full" ? `full: ${record.exchanges} of ${record.maxExchanges} exchanges` : "the store stayed behind (overload)",
        source: "recorder",
      }),
  });
  await recorder.start();
  return recorder;
}

/**
 * The live config's routes by id, indexed once per route list (a reload makes a new one): each kept
 * exchange looks its route up twice, and a `find` over a real table's routes cost 3–4k instructions each.
 */
function routesById(live: LiveState): (routeId: string) => RouteConfig | undefined {
  let indexed: readonly RouteConfig[] | undefined;
  let byId = new Map<string, RouteConfig>();
  return (routeId) => {
    const routes = live.config.routes;
    if (routes !== indexed) {
      byId = new Map(routes.map((r) => [r.id, r]));
      indexed = routes;
    }
    return byId.get(routeId);
  };
}
