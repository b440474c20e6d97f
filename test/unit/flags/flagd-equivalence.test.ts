import { FlagdCore } from "@openfeature/flagd-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bucketOf, inRollout } from "../../../src/decision/bucketing.ts";
import { flagKeyFor } from "../../../src/flags/flag-key.ts";
import { flagdDocument } from "../../../src/flags/flagd-export.ts";

/**
 * The exported document, evaluated by flagd's own JavaScript evaluator, puts every key on the side our
 * provider puts it: a team can move its flags to flagd without moving a single user.
 */
function flagdSides(rollouts: Parameters<typeof flagdDocument>[0], keys: readonly string[]): Map<string, string[]> {
  const core = new FlagdCore();
  core.setConfigurations(JSON.stringify(flagdDocument(rollouts)));
  const sides = new Map<string, string[]>();
  for (const { id } of rollouts) {
    sides.set(id, keys.map((key) => core.resolveStringEvaluation(flagKeyFor(id), "legacy", { targetingKey: key }).value));
  }
  return sides;
}

const ourSide = (id: string, key: string, percent: number, salt: string) => (inRollout(bucketOf(id, key, salt), percent) ? "target" : "legacy");

describe("the flagd export", () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);
  const rollouts = [
    { id: "at-0", percent: 0, salt: "" },
    { id: "at-0-01", percent: 0.01, salt: "" },
    { id: "at-10", percent: 10, salt: "" },
    { id: "at-25-5", percent: 25.5, salt: "" },
    { id: "at-50-salted", percent: 50, salt: "9f3a0c1d" },
    { id: "at-99-99", percent: 99.99, salt: "" },
    { id: "at-100", percent: 100, salt: "" },
  ];

  it("decides 20,000 keys at each percentage exactly as the built-in provider", () => {
    const sides = flagdSides(rollouts, keys);
    for (const { id, percent, salt } of rollouts) {
      const theirs = sides.get(id) ?? [];
      const mismatches = keys.filter((key, i) => theirs[i] !== ourSide(id, key, percent, salt));
      expect(mismatches, id).toEqual([]);
    }
    // And the percentages are what they say (the check above would also pass if both were wrong alike).
    const share = (id: string) => (sides.get(id) ?? []).filter((v) => v === "target").length / keys.length;
    expect(share("at-0")).toBe(0);
    expect(share("at-100")).toBe(1);
    expect(share("at-10")).toBeGreaterThan(0.09);
    expect(share("at-10")).toBeLessThan(0.11);
    expect(share("at-50-salted")).toBeGreaterThan(0.48);
    expect(share("at-50-salted")).toBeLessThan(0.52);
  });

  // A property run through the flagd evaluator: seconds, more under Stryker; its budget is explicit.
  it("agrees on any key at all, ASCII or not: emoji, accents, surrogate halves, NULs, any length", { timeout: 30_000 }, () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 10_000 }), fc.constantFrom("", "s", "salt-1"), (key, weight, salt) => {
        const percent = weight / 100;
        const rollout = [{ id: "r", percent, salt }];
        expect(flagdSides(rollout, [key]).get("r")).toEqual([ourSide("r", key, percent, salt)]);
      }),
      { numRuns: 2_000 },
    );
  });

  it("writes flags named as the provider's, legacy by default, with the percentage in the metadata", () => {
    const document = flagdDocument([{ id: "products-list", percent: 12.34, salt: "" }]);
    expect(document).toEqual({
      $schema: "https://flagd.dev/schema/v0/flags.json",
      flags: {
        "strangler.route.products-list": {
          state: "ENABLED",
          variants: { target: "target", legacy: "legacy" },
          defaultVariant: "legacy",
          targeting: { fractional: [["target", 1234], ["legacy", 8766]] },
          metadata: { routeId: "products-list", percent: 12.34 },
        },
      },
    });
  });
});
