import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { FleetEvidence } from "../guard/fleet-evidence.ts";
import type { MigrationService } from "../guard/migration-service.ts";
import { createShadowMetrics, type ShadowMetrics } from "../metrics/shadow-metrics.ts";
import { NoiseModel } from "../shadow/noise-model.ts";
import { createShadowRunner, type ShadowRunner } from "../shadow/shadow-runner.ts";
import type { Stores } from "../store/open-stores.ts";
import { withPseudonymKey, PSEUDONYM_KEY, type RedactionRules } from "../redaction/redactor.ts";
import type { LiveState } from "./live-state.ts";

/** Shadow comparison: the runner the data plane hands sampled requests to, and its metrics. */
export interface ShadowWiring {
  readonly shadows: ShadowRunner;
  readonly metrics: ShadowMetrics;
  /** What stored examples withhold beyond the defaults: the config's `redaction`, with the store's pseudonym key. */
  readonly redaction: () => RedactionRules;
}

/**
 * The shadow runner, with the noise learned so far loaded from the store; each outcome also feeds the
 * fleet's evidence, and retired routes are no longer shadowed.
 */
export async function wireShadow(deps: {
  readonly stores: Stores;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly live: LiveState;
  readonly evidence: FleetEvidence;
  readonly migrations: MigrationService;
}): Promise<ShadowWiring> {
  const { stores, live, migrations } = deps;
  const metrics = createShadowMetrics(deps.registry);
  const redaction = withPseudonymKey(() => live.config.redaction, (await stores.secrets.secret(PSEUDONYM_KEY)).toString("base64"));
  const shadows = createShadowRunner({
    store: stores.shadows,
    noise: await NoiseModel.load(stores.shadows, live.config.routes.map((r) => r.id)),
    metrics: withShadowEvidence(metrics, deps.evidence),
    limits: () => live.config.shadowing,
    redaction,
    logger: deps.logger,
    shouldShadow: (routeId) => !migrations.isRetired(routeId),
  });
  return { shadows, metrics, redaction };
}

/** Shadow metrics that also feed the fleet's evidence. */
function withShadowEvidence(metrics: ShadowMetrics, window: FleetEvidence): ShadowMetrics {
  return {
    ...metrics,
    outcome(route, outcome) {
      metrics.outcome(route, outcome);
      window.shadow(route, outcome);
    },
  };
}
