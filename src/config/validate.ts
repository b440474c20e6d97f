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

type Issue = z.core.$ZodIssue;

/**
 * A union fails with one list of issues per branch; the branch that got furthest into the input
 * (the deepest path, not a mere type mismatch) is the one the author meant, so report that one.
 */
function bestUnionBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] {
  let best: readonly Issue[] = branches[0] ?? [];
  let bestScore = -1;
  for (const branch of branches) {
    const score = Math.max(...branch.map((i) => i.path.length * 2 + (i.code === "invalid_type" || i.code === "invalid_value" ? 0 : 1)));
    if (score > bestScore) (best = branch), (bestScore = score);
  }
  return best;
}

function flatten(issues: readonly Issue[], prefix: readonly PropertyKey[] = []): Array<{ path: PropertyKey[]; message: string }> {
  const out: Array<{ path: PropertyKey[]; message: string }> = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      out.push(...flatten(bestUnionBranch(issue.errors), path));
    } else if (issue.code === "invalid_key" || issue.code === "invalid_element") {
      out.push(...flatten(issue.issues, path));
    } else if (issue.code === "unrecognized_keys") {
      out.push({ path, message: `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}` });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

/** Turns zod issues into one readable line each: `field: what is wrong`. */
export function formatIssues(issues: readonly Issue[], input: unknown): string[] {
  return flatten(issues).map(({ path, message }) => `${formatIssuePath(path, input)}: ${message}`);
}

/** Messages for the cases zod words vaguely: a missing field, a value of the wrong type. */
const errorMap: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === "invalid_type") {
    if (issue.input === undefined) return "is required";
    const got = issue.input === null ? "null" : Array.isArray(issue.input) ? "an array" : typeof issue.input;
    return `must be ${issue.expected === "object" ? "an object" : `a ${issue.expected}`}, got ${got}`;
  }
  return undefined;
};

/**
 * Checks a raw config object against the one schema and returns it with defaults filled in.
 * @throws ConfigError naming every field that is wrong.
 */
export function validateConfig(raw: unknown, source: string): StranglerConfig {
  const result = configSchema.safeParse(raw, { error: errorMap });
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues, raw));
  return result.data;
}
