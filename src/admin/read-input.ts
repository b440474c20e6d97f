import type { Context } from "hono";
import type { z } from "zod";
import { formatIssues } from "../config/validate.ts";
import { AdminError } from "./admin-error.ts";

/** A JSON body checked against `schema`; 400 `invalid_json` or `invalid_input` (naming the field) otherwise. */
export async function readBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new AdminError(400, "invalid_json", "the body must be a JSON object (Content-Type: application/json)");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error.issues, raw);
    const field = parsed.error.issues[0]?.path.join(".") ?? "";
    throw new AdminError(400, "invalid_input", issues.join("; "), { field, issues });
  }
  return parsed.data;
}

/** The query string checked against `schema`; 400 `invalid_query` otherwise. */
export function readQuery<T extends z.ZodType>(c: Context, schema: T): z.output<T> {
  const query = c.req.query();
  const parsed = schema.safeParse(query);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error.issues, query);
    throw new AdminError(400, "invalid_query", issues.join("; "), { issues });
  }
  return parsed.data;
}
