import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { BackendRole } from "./decider.ts";

export const FORCE_HEADER = "x-strangler-force";
export const FORCE_SECRET_HEADER = "x-strangler-force-secret";

/** Compares two secrets in constant time (hashing first, so lengths leak nothing either). */
export function secretsMatch(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The role a QA request forces with `x-strangler-force: legacy|target` and the right
 * `x-strangler-force-secret`, or undefined (no header, wrong secret, or forcing not configured).
 */
export function forcedRole(headers: IncomingHttpHeaders, secret: string | undefined): BackendRole | undefined {
  const wanted = headers[FORCE_HEADER];
  if (secret === undefined || (wanted !== "legacy" && wanted !== "target")) return undefined;
  const given = headers[FORCE_SECRET_HEADER];
  return typeof given === "string" && secretsMatch(given, secret) ? wanted : undefined;
}
