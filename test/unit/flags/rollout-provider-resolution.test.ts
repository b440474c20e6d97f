import { ErrorCode, ProviderEvents, StandardResolutionReasons, type EvaluationContext } from "@openfeature/server-sdk";
import { describe, expect, it } from "vitest";
import { bucketOf } from "../../../src/decision/bucketing.ts";
import { flagKeyFor } from "../../../src/flags/flag-key.ts";
import { StranglerRolloutProvider } from "../../../src/flags/rollout-provider.ts";
import type { LiveRollout, RolloutReader } from "../../../src/rollout/rollout-state.ts";

/** A rollout table held in memory, so each resolution rule is tested on the provider alone. */
class TableReader implements RolloutReader {
  readonly listeners = new Set<(routeIds: readonly string[]) => void>();
  constructor(readonly table: Map<string, LiveRollout>) {}
  get(routeId: string): LiveRollout | undefined {
    return this.table.get(routeId);
  }
  onChange(listener: (routeIds: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  announce(routeIds: string[]): void {
    for (const listener of this.listeners) listener(routeIds);
  }
}

describe("the rollout provider's resolution, rule by rule", () => {
  const reader = () => new TableReader(new Map([["r", { percent: 50, salt: "s" }]]));

  it("names the bucket and percentage it decided by, and decides by the route's salt", () => {
    const provider = new StranglerRolloutProvider(reader());
    const details = provider.resolveSync(flagKeyFor("r"), "legacy", { targetingKey: "alice" });
    const bucket = bucketOf("r", "alice", "s");
    expect(details).toEqual({
      value: bucket < 5000 ? "target" : "legacy",
      variant: bucket < 5000 ? "target" : "legacy",
      reason: StandardResolutionReasons.SPLIT,
      flagMetadata: { bucket, percent: 50 },
    });
  });

  it("answers the default with FLAG_NOT_FOUND and the flag's name for a flag that is not a route's", () => {
    const provider = new StranglerRolloutProvider(reader());
    for (const flag of ["strangler.route.missing", "other.flag"]) {
      expect(provider.resolveSync(flag, "legacy", { targetingKey: "a" })).toEqual({
        value: "legacy",
        reason: StandardResolutionReasons.ERROR,
        errorCode: ErrorCode.FLAG_NOT_FOUND,
        errorMessage: `no route for flag ${flag}`,
      });
    }
  });

  it("answers the default with TARGETING_KEY_MISSING when the key is absent or empty", () => {
    const provider = new StranglerRolloutProvider(reader());
    for (const context of [{}, { targetingKey: "" }] as EvaluationContext[]) {
      expect(provider.resolveSync(flagKeyFor("r"), "legacy", context)).toEqual({
        value: "legacy",
        reason: StandardResolutionReasons.ERROR,
        errorCode: ErrorCode.TARGETING_KEY_MISSING,
      });
    }
  });

  it("answers boolean, number and object evaluations with TYPE_MISMATCH: route flags are strings", async () => {
    const provider = new StranglerRolloutProvider(reader());
    const mismatch = (value: unknown) => ({
      value,
      reason: StandardResolutionReasons.ERROR,
      errorCode: ErrorCode.TYPE_MISMATCH,
      errorMessage: `${flagKeyFor("r")} is a string flag`,
    });
    expect(await provider.resolveBooleanEvaluation(flagKeyFor("r"), true)).toEqual(mismatch(true));
    expect(await provider.resolveNumberEvaluation(flagKeyFor("r"), 7)).toEqual(mismatch(7));
    expect(await provider.resolveObjectEvaluation(flagKeyFor("r"), { a: 1 })).toEqual(mismatch({ a: 1 }));
  });

  it("announces changed flags until it is closed, and not after", async () => {
    const table = reader();
    const provider = new StranglerRolloutProvider(table);
    const seen: unknown[] = [];
    provider.events.addHandler(ProviderEvents.ConfigurationChanged, (details) => seen.push(details?.flagsChanged));
    table.announce(["r"]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([[flagKeyFor("r")]]);
    await provider.onClose();
    expect(table.listeners.size).toBe(0);
  });
});

describe("the data plane's variantFor", () => {
  it("answers resolveSync's variant for every key and percentage, and undefined exactly where resolveSync errs", () => {
    const table = new Map<string, LiveRollout>([["r", { percent: 0, salt: "s" }]]);
    const provider = new StranglerRolloutProvider(new TableReader(table));
    for (const percent of [0, 0.01, 12.5, 50, 99.99, 100]) {
      table.set("r", { percent, salt: "s" });
      for (let i = 0; i < 500; i++) {
        const key = `user-${i}`;
        expect(provider.variantFor("r", key)).toBe(provider.resolveSync(flagKeyFor("r"), "legacy", { targetingKey: key }).value);
      }
    }
    expect(provider.variantFor("missing", "alice")).toBeUndefined();
    expect(provider.resolveSync(flagKeyFor("missing"), "legacy", { targetingKey: "alice" }).errorCode).toBe(ErrorCode.FLAG_NOT_FOUND);
    expect(provider.variantFor("r", "")).toBeUndefined();
    expect(provider.resolveSync(flagKeyFor("r"), "legacy", { targetingKey: "" }).errorCode).toBe(ErrorCode.TARGETING_KEY_MISSING);
  });
});
