import type { z } from "zod";
import { ConfigError } from "./config-error.ts";
import { configSchema, type StranglerConfig } from "./schema.ts";

/** Renders a zod issue path as `routes[3].rollout.percent`, adding the route's id when it has one. */
export function formatIssuePath(path: readonly PropertyKey[], input: unknown): string {
  let out = "";
  let node: unknown = input;
  for (const key of path) {
    if (typeof key === "number") {
      out += `[${key}]`;
      node = Array.isArray(node) ? node[key] : undefined;
      const id = node && typeof node === "object" ? (node as { id?: unknown }).id : undefined;
      if (out === `routes[${key}]` && typeof id === "string") {
        out += ` (id "${id}")`;
      }
    } else {
      out += out ? `.${String(key)}` : String(key);
      node = node && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[key] : undefined;
    }
  }
  return out || "(root)";
}

/** Turns zod issues into one readable line each: `field: what is wrong`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  return issues.map((issue) => {
    let message = issue.message;
    if (issue.code === "unrecognized_keys") message = `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    if (issue.code === "invalid_type" && issue.input === undefined) message = "is required";
    return `${formatIssuePath(issue.path, input)}: ${message}`;
  });
}

/**
 * Checks a raw config object against the one schema and returns it with defaults filled in.
 * @throws ConfigError naming every field that is wrong.
 */
export function validateConfig(raw: unknown, source: string): StranglerConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues, raw));
  return result.data;
}
