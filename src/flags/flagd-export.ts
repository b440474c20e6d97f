import { BUCKETS } from "../decision/bucketing.ts";
import { flagKeyFor } from "./flag-key.ts";

/** What the export needs of a route: its id and live rollout. */
export interface ExportedRollout {
  readonly id: string;
  readonly percent: number;
  readonly salt: string;
}

type JsonLogic = string | number | boolean | null | JsonLogic[] | { readonly [op: string]: JsonLogic };

/** One flagd flag (https://flagd.dev/reference/flag-definitions/). */
export interface FlagdFlag {
  readonly state: "ENABLED";
  readonly variants: { readonly target: "target"; readonly legacy: "legacy" };
  readonly defaultVariant: "legacy";
  readonly targeting: { readonly fractional: JsonLogic[] };
  readonly metadata: { readonly routeId: string; readonly percent: number };
}

export interface FlagdDocument {
  readonly $schema: string;
  readonly flags: Readonly<Record<string, FlagdFlag>>;
}

/**
 * The routes' rollouts as a flagd flag-definitions document that decides every key exactly as the
 * built-in provider does: `fractional` over weights that sum to 10,000 (0.01% resolution), the target
 * listed first so a rising weight only adds keys. A route's salt (once re-rolled) goes in front of
 * flagd's default bucketing value, the flag key then the targeting key.
 */
export function flagdDocument(rollouts: readonly ExportedRollout[]): FlagdDocument {
  const flags: Record<string, FlagdFlag> = {};
  for (const { id, percent, salt } of rollouts) {
    const targetWeight = Math.round(percent * 100);
    const buckets: JsonLogic[] = [
      ["target", targetWeight],
      ["legacy", BUCKETS - targetWeight],
    ];
    flags[flagKeyFor(id)] = {
      state: "ENABLED",
      variants: { target: "target", legacy: "legacy" },
      defaultVariant: "legacy",
      // With no salt, no bucketing expression: flagd's default (flag key + targeting key) is ours.
      targeting: { fractional: salt === "" ? buckets : [{ cat: [salt, { var: "$flagd.flagKey" }, { var: "targetingKey" }] }, ...buckets] },
      metadata: { routeId: id, percent },
    };
  }
  return { $schema: "https://flagd.dev/schema/v0/flags.json", flags };
}
