import { NO_EXTRA_RULES, type RedactionRules } from "../redaction/redactor.ts";
import type { SpanContext } from "@opentelemetry/api";
import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import { IDEMPOTENT_METHODS, type ShadowingLimits } from "../config/schema.ts";
import type { BackendRole } from "../decision/decider.ts";
import { bucketOf, inRollout } from "../decision/bucketing.ts";
import type { ShadowMetrics } from "../metrics/shadow-metrics.ts";
import type { Backend } from "../proxy/backend-pool.ts";
import type { CompiledRoute } from "../routing/route-table.ts";
import type { ShadowStore } from "../store/shadow-store.ts";
import { ArrayPairings } from "./array-pairings.ts";
import { ByteArena } from "./byte-arena.ts";
import { Deadlines } from "./deadlines.ts";
import { createComparer, type Comparer } from "./comparer.ts";
import { EvidenceWriter } from "./evidence-writer.ts";
import { NoiseModel } from "./noise-model.ts";
import { ShadowSession, type SessionContext } from "./shadow-session.ts";

/** The salt that keeps shadow sampling independent of the rollout split. */
const SHADOW_SALT = "shadow";

export interface ShadowRequest {
  readonly route: CompiledRoute;
  /** The sticky key the decision used. */
  readonly key: string;
  readonly primaryRole: BackendRole;
  readonly primary: Backend;
  /** The backends by name (the map itself: a lookup closure per request cost more); shadows use their destinations' shadow pools. */
  readonly backends: ReadonlyMap<string, Backend>;
  readonly req: IncomingMessage;
  readonly requestId: string;
  readonly path: string;
  readonly query: string;
  /** The path and query the route's target gets (after its rewrite). */
  readonly targetPath: string;
  /** The Host the target gets in place of its own (`rewrite.host: "client"`); undefined for its own. */
  readonly targetHost: string | undefined;
  /** The request's span, when traced: the shadow call's span links to it. */
  readonly traceLink?: SpanContext | undefined;
  /** `performance.now()` when the request arrived (the data plane's reading: a clock read costs ~500 instructions). */
  readonly started: number;
}

/** Starts shadow sessions for sampled requests, within the global bounds. */
export interface ShadowRunner {
  /** A session when this request is shadowed; undefined when not sampled, not shadowable, or over the bounds. */
  start(request: ShadowRequest): ShadowSession | undefined;
  readonly inFlight: number;
  readonly noise: NoiseModel;
  /** Arrays paired by an automatic key, per route. */
  readonly pairings: ArrayPairings;
  /** Writes queued evidence now (tests, reads of the evidence, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface ShadowRunnerOptions {
  readonly store: ShadowStore;
  /** What the store learned of noise so far (read at start-up: `NoiseModel.load`). */
  readonly noise: NoiseModel;
  readonly metrics: ShadowMetrics;
  readonly limits: () => ShadowingLimits;
  /** The config's additions to what is never stored of an example (`redaction`); none when absent. */
  readonly redaction?: () => RedactionRules;
  readonly logger: Logger;
  /** False for a route that must not be shadowed now (a retired route no longer consults the monolith). */
  readonly shouldShadow?: (routeId: string) => boolean;
}

function sampled(request: ShadowRequest, percent: number, mode: "sticky" | "random"): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  if (mode === "random") return Math.random() * 100 < percent;
  return inRollout(bucketOf(request.route.id, request.key, SHADOW_SALT), percent);
}

export function createShadowRunner(options: ShadowRunnerOptions): ShadowRunner {
  const initial = options.limits();
  // Half the shadow budget for the worker's parsed documents, the other half (and the arena) for the bytes.
  const comparer: Comparer = createComparer({
    maxQueued: initial.maxQueuedComparisons,
    workerThresholdBytes: initial.workerThresholdBytes,
    workerHeapBytes: Math.max(32 * 1024 * 1024, initial.maxBufferedBytes / 2),
  });
  const budget = new ByteArena(initial.maxBufferedBytes);
  const evidence = new EvidenceWriter(
    options.store,
    () => {
      const l = options.limits();
      return { examplesPerSignature: l.examplesPerSignature, examplesPerSignaturePerMinute: l.examplesPerSignaturePerMinute, signaturesPerRoute: l.signaturesPerRoute, maxAgeDays: l.retentionDays, announceDivergenceAt: l.announceDivergenceAt };
    },
    options.logger,
    initial.maxQueuedEvidence,
    initial.evidenceFlushMs,
  );
  const noise = options.noise;
  const pairings = new ArrayPairings();
  let inFlight = 0;
  const deadlines = new Deadlines<ShadowSession>();
  const onEnd = (): void => {
    inFlight--;
  };
  // One context for every session while the limits stay the same object (until a reload replaces
  // them): a context and an `onEnd` closure per shadowed request showed in the profile.
  let context: SessionContext | undefined;
  const contextFor = (limits: ShadowingLimits): SessionContext => {
    if (context?.limits !== limits) context = { comparer, evidence, noise, pairings, metrics: options.metrics, budget, limits, redaction: options.redaction?.() ?? NO_EXTRA_RULES, onEnd, deadlines };
    return context;
  };

  return {
    get inFlight() {
      return inFlight;
    },
    noise,
    pairings,
    start(request) {
      const shadow = request.route.config.shadow;
      const method = request.req.method ?? "GET";
      if (!shadow || !(shadow.methods as readonly string[]).includes(method) || !sampled(request, shadow.percent, shadow.sampling)) return undefined;
      if (options.shouldShadow && !options.shouldShadow(request.route.id)) return undefined;
      const otherRole: BackendRole = request.primaryRole === "legacy" ? "target" : "legacy";
      const shadowBackend = request.backends.get(request.route.config[otherRole]);
      if (!shadowBackend) return undefined;
      const limits = options.limits();
      if (inFlight >= limits.maxInFlight) {
        options.metrics.skipped(request.route.id, "overload");
        return undefined;
      }
      const noiseSample = shadow.noise.learn && IDEMPOTENT_METHODS.has(method) && noise.wantsSample(request.route.id, shadow.noise.warmupSamples, shadow.noise.sampleRate);
      inFlight++;
      return new ShadowSession(
        {
          routeId: request.route.id,
          shadow,
          primaryRole: request.primaryRole,
          primary: request.primary,
          shadowBackend,
          noiseBackend: noiseSample ? request.primary : undefined,
          req: request.req,
          requestId: request.requestId,
          path: request.path,
          query: request.query,
          targetPath: request.targetPath,
          targetHost: request.targetHost,
          traceLink: request.traceLink,
          started: request.started,
        },
        contextFor(limits),
      );
    },
    flush: () => evidence.flush(),
    async close() {
      deadlines.close();
      await evidence.close();
      await comparer.close();
    },
  };
}
