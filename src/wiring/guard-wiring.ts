import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Clock } from "../guard/clock.ts";
import { FleetEvidence } from "../guard/fleet-evidence.ts";
import { createGuardMetrics, type GuardMetrics } from "../guard/guard-metrics.ts";
import { createMigrationService, type MigrationService } from "../guard/migration-service.ts";
import { registerEvidenceMetrics, registerStoreMetrics } from "../metrics/map-metrics.ts";
import type { RolloutService } from "../rollout/rollout-service.ts";
import type { Stores } from "../store/open-stores.ts";
import type { LiveState } from "./live-state.ts";
import { deliver } from "../webhooks/webhook-deliverer.ts";
import { confirmPayload } from "../webhooks/webhook-payload.ts";
import type { MapWiring } from "./map-wiring.ts";

/** Evidence and the migrations judged by it: guards, promotion, retirement. */
export interface GuardWiring {
  /** This node's evidence on its way to the store, and the fleet's sum the guards judge. */
  readonly evidence: FleetEvidence;
  readonly metrics: GuardMetrics;
  readonly migrations: MigrationService;
  /** Stops the evidence flush (writing what is pending). */
  stop(): Promise<void>;
}

export interface GuardDeps {
  readonly stores: Stores;
  readonly nodeId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly live: LiveState;
  readonly rollouts: RolloutService;
  readonly map: MapWiring;
}

/**
 * The evidence window (flushed to the store every `fleet.evidenceFlushMs`) and the migration service
 * that judges it, kept in step with every rollout change. The guard timer itself runs where the judge's
 * lease is held (fleet-wiring.ts).
 */
export async function wireGuards(deps: GuardDeps): Promise<GuardWiring> {
  const { stores, clock, logger, live, rollouts } = deps;
  const fleet = live.config.fleet;
  const evidence = new FleetEvidence({ store: stores.evidence, nodeId: deps.nodeId, clock, logger, bucketMs: fleet.evidenceBucketMs, maxPendingMs: fleet.evidenceRetentionMs, fold: () => stores.fold() });
  const stopFlushing = evidence.start(fleet.evidenceFlushMs);
  registerEvidenceMetrics(deps.registry, evidence);
  registerStoreMetrics(deps.registry, () => stores.checkouts());
  const metrics = createGuardMetrics(deps.registry);
  const migrations = createMigrationService({
    routes: () => live.config.routes,
    rollouts,
    store: stores.migrations,
    evidence,
    clock,
    metrics,
    logger,
    retireQuietPeriodMs: () => live.config.map.retireQuietPeriodMs,
    monolithUse: (routeId) => deps.map.monolithUse(routeId),
    passedReplay: (routeId) => stores.recordings.hasPassingRun(routeId),
    // A gate's confirming webhook: asked off the evaluation, a 2xx is a yes.
    confirm: async (name, request) => {
      const hook = live.config.webhooks.find((h) => h.name === name);
      if (!hook) return false;
      const answer = await deliver(hook, confirmPayload(request, new Date(clock.now())), 1);
      if (!answer.ok) logger.info({ route: request.routeId, webhook: name, status: answer.status, err: answer.error }, "the confirming webhook did not say yes yet");
      return answer.ok;
    },
  });
  await migrations.sync();
  rollouts.state.onChange(() => {
    migrations.sync().catch((error: Error) => logger.error({ err: error.message }, "could not follow the rollout in the migration state"));
  });
  return { evidence, metrics, migrations, stop: stopFlushing };
}
