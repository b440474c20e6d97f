import type { Difference } from "../shadow/json-diff.ts";

/**
 * Ids (and times) a replayed write made, mapped to the ones the monolith made when it was recorded, per session:
 * POST /orders answered `{"id":"o_17"}` when recorded and `{"id":"o_3"}` in the sandbox, so the same
 * session's later GET /orders/o_17 is sent as GET /orders/o_3, and its answer's `"id": "o_3"` against the
 * recorded `"o_17"` is a correlated field, not a divergence.
 */

/** An ISO-8601 date-time: the write's own time (createdAt), which the replay's write made anew. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const isTime = (value: unknown): boolean => typeof value === "string" && ISO_TIME.test(value);

/** Member names that hold an id: `id`, and names ending in `Id` or `_id` (`orderId`, `order_id`). */
const ID_NAME = /^(?:id|.*Id|.*_id|.*_ID)$/;
/** Ids too short or common to rewrite safely in paths and bodies (`1` would be replaced everywhere). */
const MIN_ID_LENGTH = 2;
/** A session learns at most this many ids (a write answering a huge list does not fill memory). */
const MAX_IDS = 1_000;

type Scalar = string | number;

export class SessionIds {
  /** Recorded id → the candidate's, as text. */
  readonly #ids = new Map<string, string>();

  /**
   * `redact`: what the candidate's answers go through before they are compared (the recording's
   * redaction), so that a mapped id is recognised in an answer in the form it has there.
   */
  constructor(private readonly redact: (text: string) => string = (text) => text) {}

  get size(): number {
    return this.#ids.size;
  }

  /**
   * Learns the ids of a write's answer: members named like ids, or holding ISO date-times on both sides
   * (the write's createdAt), whose values differ between the two bodies; and the Location's last segment.
   */
  learn(recorded: { body: string; location?: string | undefined }, candidate: { body: string; location?: string | undefined }): void {
    const left = parse(recorded.body);
    const right = parse(candidate.body);
    if (left !== undefined && right !== undefined) this.#walk(left, right, 0);
    const a = recorded.location?.split(/[/?#]/).filter(Boolean).at(-1);
    const b = candidate.location?.split(/[/?#]/).filter(Boolean).at(-1);
    if (a && b) this.#add(a, b);
  }

  #walk(left: unknown, right: unknown, depth: number): void {
    if (depth > 32 || left === null || right === null || typeof left !== "object" || typeof right !== "object") return;
    if (Array.isArray(left) && Array.isArray(right)) {
      for (let i = 0; i < Math.min(left.length, right.length); i++) this.#walk(left[i], right[i], depth + 1);
      return;
    }
    const l = left as Record<string, unknown>;
    const r = right as Record<string, unknown>;
    for (const [name, value] of Object.entries(l)) {
      const other = r[name];
      if (isScalar(value) && isScalar(other) && (ID_NAME.test(name) || (isTime(value) && isTime(other)))) this.#add(String(value), String(other));
      else this.#walk(value, other, depth + 1);
    }
  }

  #add(recorded: string, candidate: string): void {
    if (recorded === candidate || recorded.length < MIN_ID_LENGTH || this.#ids.size >= MAX_IDS) return;
    this.#ids.set(recorded, candidate);
  }

  /** A path with every segment that is a learned id replaced. */
  path(path: string): string {
    if (this.#ids.size === 0) return path;
    return path
      .split("/")
      .map((segment) => {
        const mapped = this.#ids.get(safeDecode(segment, false));
        return mapped === undefined ? segment : encodeURIComponent(mapped);
      })
      .join("/");
  }

  /** A query string with every value that is a learned id replaced. */
  query(query: string): string {
    if (this.#ids.size === 0 || query === "") return query;
    return query
      .split("&")
      .map((pair) => {
        const eq = pair.indexOf("=");
        if (eq < 0) return pair;
        const mapped = this.#ids.get(safeDecode(pair.slice(eq + 1), true));
        return mapped === undefined ? pair : `${pair.slice(0, eq + 1)}${encodeURIComponent(mapped)}`;
      })
      .join("&");
  }

  /** A JSON body with every string or number value that is a learned id replaced (other bodies as they are). */
  body(body: string): string {
    if (this.#ids.size === 0 || body === "") return body;
    const parsed = parse(body);
    if (parsed === undefined) return body;
    return JSON.stringify(this.#replace(parsed, 0));
  }

  #replace(value: unknown, depth: number): unknown {
    if (depth > 32) return value;
    if (isScalar(value)) {
      const mapped = this.#ids.get(String(value));
      if (mapped === undefined) return value;
      return typeof value === "number" && /^-?\d+(\.\d+)?$/.test(mapped) ? Number(mapped) : mapped;
    }
    if (Array.isArray(value)) return value.map((v) => this.#replace(v, depth + 1));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.#replace(v, depth + 1)]));
    }
    return value;
  }

  /** Whether a difference is a learned id on the recorded side and its counterpart on the candidate's: correlated, not divergent. */
  correlates(d: Difference): boolean {
    if (this.#ids.size === 0 || d.kind !== "changed" || d.left === undefined || d.right === undefined) return false;
    const recorded = unquote(d.left);
    const mapped = recorded === undefined ? undefined : this.#ids.get(recorded);
    if (mapped === undefined) return false;
    const right = unquote(d.right);
    return mapped === right || this.redact(mapped) === right;
  }
}

function isScalar(value: unknown): value is Scalar {
  return typeof value === "string" || (typeof value === "number" && Number.isFinite(value));
}

function parse(text: string): unknown {
  const first = text.trimStart()[0];
  if (first !== "{" && first !== "[") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A path segment or query value decoded (`+` is a space in a query only); as it is when it is not valid percent-encoding. */
function safeDecode(text: string, plusIsSpace: boolean): string {
  try {
    return decodeURIComponent(plusIsSpace ? text.replace(/\+/g, " ") : text);
  } catch {
    return text;
  }
}

/** A difference's rendering of a scalar (`"o_3"` or `42`) as the id's text. */
function unquote(rendered: string): string | undefined {
  if (rendered.startsWith('"')) {
    try {
      return JSON.parse(rendered) as string;
    } catch {
      return undefined;
    }
  }
  return /^-?\d+(\.\d+)?$/.test(rendered) ? rendered : undefined;
}
