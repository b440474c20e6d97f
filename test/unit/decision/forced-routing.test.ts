import { describe, expect, it } from "vitest";
import { forcedRole, secretsMatch } from "../../../src/decision/forced-routing.ts";

const SECRET = "qa-secret-0123456789";

describe("forced routing for QA", () => {
  it("routes as told only with the right secret", () => {
    expect(forcedRole({ "x-strangler-force": "target", "x-strangler-force-secret": SECRET }, SECRET)).toBe("target");
    expect(forcedRole({ "x-strangler-force": "legacy", "x-strangler-force-secret": SECRET }, SECRET)).toBe("legacy");
    expect(forcedRole({ "x-strangler-force": "target", "x-strangler-force-secret": `${SECRET}x` }, SECRET)).toBeUndefined();
    expect(forcedRole({ "x-strangler-force": "target" }, SECRET)).toBeUndefined();
  });

  it("ignores any other value, a repeated secret header, and requests when forcing is not configured", () => {
    expect(forcedRole({ "x-strangler-force": "TARGET", "x-strangler-force-secret": SECRET }, SECRET)).toBeUndefined();
    expect(forcedRole({ "x-strangler-force": "both", "x-strangler-force-secret": SECRET }, SECRET)).toBeUndefined();
    expect(forcedRole({ "x-strangler-force": "target", "x-strangler-force-secret": [SECRET, SECRET] as unknown as string }, SECRET)).toBeUndefined();
    expect(forcedRole({ "x-strangler-force": "target", "x-strangler-force-secret": SECRET }, undefined)).toBeUndefined();
    expect(forcedRole({}, SECRET)).toBeUndefined();
  });

  it("compares secrets whole, whatever their lengths", () => {
    expect(secretsMatch(SECRET, SECRET)).toBe(true);
    expect(secretsMatch(SECRET.slice(0, -1), SECRET)).toBe(false);
    expect(secretsMatch("", SECRET)).toBe(false);
    expect(secretsMatch(`${SECRET}0`, SECRET)).toBe(false);
  });
});
