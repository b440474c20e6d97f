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
      // Stryker disable next-line ConditionalExpression: equivalent — reading .id of a string or number gives undefined as well
      const id = node && typeof node === "object" ? (node as { id?: unknown }).id : undefined;
      if (out === `routes[${key}]` && typeof id === "string") {
        out += ` (id "${id}")`;
      }
    } else {
      out += out ? `.${String(key)}` : String(key);
      // Stryker disable next-line ConditionalExpression,LogicalOperator: zod reports no path through a null or a scalar, so the guard never decides; kept so a path the schema's own refinements name cannot throw
      node = node && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[key] : undefined;
    }
  }
  return out || "(root)";
}

type Issue = z.core.$ZodIssue;

/**
 * A union whose every branch failed outright (zod 4 reports a branch that matched but for a refinement or
 * an unknown field by itself) comes with one list of issues per branch. The branch that got deepest into
 * the input is the one the author meant; of two as deep, the one with fewer problems. When none got past
 * the value's own type, none was meant: the union's own message (each union in the schema says what it
 * accepts) is the answer.
 */
function bestUnionBranch(branches: readonly (readonly Issue[])[]): { readonly issues: readonly Issue[]; readonly score: number } {
  // Stryker disable next-line ArrayDeclaration: equivalent — a failed branch has at least one issue, so the first always replaces it
  let best: readonly Issue[] = [];
  let bestScore = -1;
  for (const branch of branches) {
    // Stryker disable next-line MethodExpression: equivalent on this schema's unions — their branches' shallow issues are all at depth 0
    const score = Math.max(...branch.map((i) => i.path.length));
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent on this schema's unions — no branch is both shallower and shorter than an earlier one, and equal ones give the same message
    if (score > bestScore || (score === bestScore && branch.length < best.length)) (best = branch), (bestScore = score);
  }
  return { issues: best, score: bestScore };
}

function flatten(issues: readonly Issue[], prefix: readonly PropertyKey[] = []): Array<{ path: PropertyKey[]; message: string }> {
  const out: Array<{ path: PropertyKey[]; message: string }> = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const branch = issue.code === "invalid_union" ? bestUnionBranch(issue.errors) : undefined;
    if (branch && branch.score > 0) {
      out.push(...flatten(branch.issues, path));
      // Stryker disable next-line ConditionalExpression,StringLiteral: invalid_element comes from Map and Set schemas, of which this config has none
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

/** What a config author calls each type zod expects: a record is an object to them. */
const EXPECTED: Readonly<Record<string, string>> = { object: "an object", record: "an object", array: "an array", string: "a string", number: "a number", boolean: "true or false" };

/** Messages for the cases zod words vaguely: a missing field, a value of the wrong type. */
const errorMap: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === "invalid_type") {
    if (issue.input === undefined) return "is required";
    const got = issue.input === null ? "null" : Array.isArray(issue.input) ? "an array" : typeof issue.input;
    return `must be ${EXPECTED[issue.expected] ?? issue.expected}, got ${got}`;
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
