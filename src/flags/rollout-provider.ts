import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  StandardResolutionReasons,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from "@openfeature/server-sdk";
import { bucketOf, inRollout } from "../decision/bucketing.ts";
import type { RolloutReader } from "../rollout/rollout-state.ts";
import { flagKeyFor, routeIdOfFlag } from "./flag-key.ts";

/**
 * The OpenFeature provider of strangler-fig: resolves `strangler.route.<id>` to the variant `target` or
 * `legacy` by sticky bucketing of the context's `targetingKey` against the route's live percentage
 * (reason `SPLIT`), and emits `ConfigurationChanged` when a percentage or salt changes.
 *
 * @example
 * await OpenFeature.setProviderAndWait("strangler", new StranglerRolloutProvider(rolloutState));
 * const details = await OpenFeature.getClient("strangler").getStringDetails("strangler.route.products-list", "legacy", { targetingKey: "alice" });
 */
export class StranglerRolloutProvider implements Provider {
  readonly metadata = { name: "strangler-fig rollout" } as const;
  readonly runsOn = "server" as const;
  readonly events = new OpenFeatureEventEmitter();
  readonly #unsubscribe: () => void;

  constructor(private readonly rollouts: RolloutReader) {
    this.#unsubscribe = rollouts.onChange((routeIds) =>
      this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: routeIds.map(flagKeyFor) }),
    );
  }

  async onClose(): Promise<void> {
    this.#unsubscribe();
  }

  async resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return this.resolveSync(flagKey, defaultValue, context);
  }

  /**
   * The same resolution, synchronously: the data plane's fast path when this provider is the one in
   * use, since it needs no I/O (the percentages are an in-memory copy). Same code, same answers.
   */
  resolveSync(flagKey: string, defaultValue: string, context: EvaluationContext): ResolutionDetails<string> {
    const routeId = routeIdOfFlag(flagKey);
    // Stryker disable next-line ConditionalExpression: equivalent — no route has the id undefined, so get() would find none either
    const live = routeId === undefined ? undefined : this.rollouts.get(routeId);
    // Stryker disable next-line ConditionalExpression: equivalent — an undefined routeId already left live undefined
    if (routeId === undefined || !live) {
      return { value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND, errorMessage: `no route for flag ${flagKey}` };
    }
    const key = context.targetingKey;
    if (key === undefined || key === "") {
      return { value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.TARGETING_KEY_MISSING };
    }
    const bucket = bucketOf(routeId, key, live.salt);
    const variant = inRollout(bucket, live.percent) ? "target" : "legacy";
    return { value: variant, variant, reason: StandardResolutionReasons.SPLIT, flagMetadata: { bucket, percent: live.percent } };
  }

  /**
   * The variant of a route's flag for a targeting key, or undefined when resolveSync would answer an
   * error (no such route, no key). The data plane's path: the same bucketing as resolveSync, without
   * parsing the flag key or building the resolution's objects.
   */
  variantFor(routeId: string, key: string): "target" | "legacy" | undefined {
    const live = this.rollouts.get(routeId);
    if (!live || key === "") return undefined;
    return inRollout(bucketOf(routeId, key, live.salt), live.percent) ? "target" : "legacy";
  }

  async resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): Promise<ResolutionDetails<boolean>> {
    return this.#typeMismatch(flagKey, defaultValue);
  }

  async resolveNumberEvaluation(flagKey: string, defaultValue: number): Promise<ResolutionDetails<number>> {
    return this.#typeMismatch(flagKey, defaultValue);
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): Promise<ResolutionDetails<T>> {
    return this.#typeMismatch(flagKey, defaultValue);
  }

  #typeMismatch<T>(flagKey: string, defaultValue: T): ResolutionDetails<T> {
    return { value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.TYPE_MISMATCH, errorMessage: `${flagKey} is a string flag` };
  }
}
