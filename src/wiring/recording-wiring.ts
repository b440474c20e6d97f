import type { Logger } from "pino";
import { routeConfigVersion } from "../config/config-version.ts";
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
  const configVersion = (routeId: string) => {
    const route = deps.live.config.routes.find((r) => r.id === routeId);
    return route ? routeConfigVersion(route) : "";
  };
  const recorder = new Recorder({ store: deps.stores.recordings, settings: () => deps.live.config.recording, redaction: deps.redaction, logger: deps.logger, configVersion, bodyFields: (routeId) => deps.live.config.routes.find((r) => r.id === routeId)?.shadow?.redact.bodyFields ?? [] });
  await recorder.start();
  return recorder;
}
