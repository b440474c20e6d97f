import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import type { RouteConfig } from "../config/schema.ts";
import { REDACTED, redactorFor, type RedactionRules } from "../redaction/redactor.ts";
import { compareExchange, type CapturedResponse, type ComparedSide, type ComparisonResult } from "../shadow/compare-exchange.ts";
import { compareSchema } from "../config/schema.ts";
import type { RecordedExchange } from "../store/recording-store.ts";
import { readBounded } from "./read-bounded.ts";
import type { ReplayRequest } from "./replay-request.ts";

/** An answer to a replayed request, as the recording would have stored it: decoded and redacted. */
export interface ReplayAnswer {
  readonly side: ComparedSide;
  /** The body as text, redacted like a recorded one (the report's example). */
  readonly text: string;
  /** The body as it came: the ids a write made are learned from it, to be sent back as they are. */
  readonly rawText: string;
  readonly location: string | undefined;
  readonly ms: number;
  readonly timedOut: boolean;
  /** Larger than the recording keeps a body: not compared. */
  readonly truncated: boolean;
}

/** Headers of a recorded answer that no longer describe its stored body (stored decoded, whole). */
const RECORDED_ONLY = new Set(["content-encoding", "content-length", "transfer-encoding"]);

/**
 * Sends one replayed request and reads its answer, bounded in time and size, redacting the body with the
 * rules the recording was redacted with (the config's `redaction` and the route's `shadow.redact.bodyFields`) (so a redacted e-mail compares equal to a redacted e-mail, and a
 * pseudonymised id to the pseudonym of the same id).
 */
export async function sendReplay(request: ReplayRequest, options: { timeoutMs: number; maxBytes: number; redaction: RedactionRules; bodyFields: readonly string[]; signal?: AbortSignal }): Promise<ReplayAnswer> {
  const started = performance.now();
  const ms = () => Math.round((performance.now() - started) * 100) / 100;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  try {
    const res = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
    });
    const { body, truncated } = await readBounded(res, options.maxBytes);
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      headers[name] = value;
    });
    // fetch decodes gzip/br/deflate itself: the bytes are the decoded ones, as the recording stores them.
    delete headers["content-encoding"];
    const rawText = body.toString("utf8");
    const text = redactorFor(options.redaction).body(rawText, headers["content-type"], options.bodyFields, options.maxBytes);
    const response: CapturedResponse = { status: res.status, headers, body: Buffer.from(text), truncated: false };
    return { side: { ok: true, response }, text, rawText, location: headers.location, ms: ms(), timedOut: false, truncated };
  } catch (error) {
    const e = error as Error;
    const timedOut = e.name === "TimeoutError";
    return { side: { ok: false, error: timedOut ? `no answer within ${options.timeoutMs} ms` : e.message }, text: "", rawText: "", location: undefined, ms: ms(), timedOut, truncated: false };
  }
}

/** The recorded answer as one side of a comparison: its stored (decoded, redacted) body and the headers that still describe it. */
export function recordedSide(exchange: RecordedExchange): ComparedSide {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(exchange.responseHeaders)) if (!RECORDED_ONLY.has(name)) headers[name] = value;
  return { ok: true, response: { status: exchange.status, headers, body: Buffer.from(exchange.responseBody), truncated: false } };
}

const DEFAULT_COMPARE = compareSchema.parse({});

/**
 * Compares two answers with the route's rules (its shadow's `compare`, or the defaults when it is not
 * shadowed), setting aside the noise the live comparison learned on it; headers the recording stored
 * redacted are not compared (their values are not known).
 */
export function compareAnswers(route: RouteConfig, recorded: RecordedExchange, left: ComparedSide, right: ComparedSide, setAside: readonly string[], maxDecodedBytes: number): ComparisonResult {
  const compare = route.shadow?.compare ?? DEFAULT_COMPARE;
  const headers = compare.headers.filter((name) => recorded.responseHeaders[name] !== REDACTED);
  return compareExchange(
    {
      left,
      right,
      headers,
      rules: { ignore: compare.ignore, arrays: compare.arrays, keyNames: compare.keyNames, setAside, numericTolerance: compare.numericTolerance, timestampToleranceMs: compare.timestampToleranceMs },
      maxDecodedBytes,
    },
    false,
  );
}
