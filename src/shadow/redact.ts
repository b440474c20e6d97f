import { Buffer } from "node:buffer";
import { childPath, compilePathPatterns } from "../json/json-path.ts";

/** Request headers never stored in an example. */
const SECRET_HEADERS = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie", "x-strangler-force-secret"]);
export const REDACTED = "[redacted]";

/** The request headers of an example, with credentials replaced. */
export function redactHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = SECRET_HEADERS.has(name) ? REDACTED : Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function redactValue(value: unknown, path: string, matches: (path: string) => boolean): unknown {
  if (matches(path)) return REDACTED;
  if (Array.isArray(value)) return value.map((v, i) => redactValue(v, childPath(path, i), matches));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, childPath(path, k), matches);
    return out;
  }
  return value;
}

/**
 * A body as stored in an example: JSON with the configured fields replaced by "[redacted]", anything
 * else as text; cut to `maxBytes`.
 */
export function redactBody(body: string, fields: readonly string[], maxBytes: number): string {
  let text = body;
  if (fields.length > 0) {
    try {
      const matcher = compilePathPatterns(fields);
      text = JSON.stringify(redactValue(JSON.parse(body), "$", (p) => matcher.matches(p)));
    } catch {
      // Not JSON: configured fields cannot be found in it; the text is stored as it is.
    }
  }
  if (Buffer.byteLength(text) <= maxBytes) return text;
  return `${Buffer.from(text).subarray(0, maxBytes).toString("utf8")}… (truncated)`;
}
