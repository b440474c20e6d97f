import type { Logger } from "pino";
import type { MigrationService } from "../guard/migration-service.ts";
import type { RedactionRules } from "../redaction/redactor.ts";
import { ReplayService } from "../replay/replay-service.ts";
import type { NoiseModel } from "../shadow/noise-model.ts";
import type { Stores } from "../store/open-stores.ts";
import type { LiveState } from "./live-state.ts";

/**
 * Replaying recordings against a candidate service (src/replay/): runs carried out by this node, compared
 * with the live comparison's rules and learned noise, redacted with the recording's rules, written to
 * the store and the route's timeline.
 */
export function wireReplay(deps: { readonly stores: Stores; readonly live: LiveState; readonly logger: Logger; readonly redaction: () => RedactionRules; readonly noise: NoiseModel; readonly migrations: MigrationService }): ReplayService {
  const { live, stores } = deps;
  return new ReplayService({
    store: stores.recordings,
    routes: () => live.config.routes,
    backends: () => live.config.backends,
    settings: () => live.config.replay,
    recording: () => live.config.recording,
    shadowing: () => live.config.shadowing,
    redaction: deps.redaction,
    noisePaths: (routeId, minOccurrences) => deps.noise.noisePaths(routeId, minOccurrences),
    isNoise: (routeId, path, kind, minOccurrences) => deps.noise.isNoise(routeId, path, kind, minOccurrences),
    halted: (routeId) => deps.migrations.get(routeId)?.state === "halted",
    appendAudit: (entry) => stores.rollouts.appendAudit(entry),
    logger: deps.logger,
  });
}
