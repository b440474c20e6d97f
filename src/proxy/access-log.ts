import process from "node:process";
import { pino, type Logger } from "pino";
import { jsonMilliseconds, jsonNumber, jsonString } from "../json/json-text.ts";

/** What one finished exchange tells the access log. */
export interface AccessEntry {
  readonly method: string;
  readonly path: string;
  /** The path the backend was sent (without the query), when the route's rewrite changed it; undefined otherwise. */
  readonly upstreamPath: string | undefined;
  /** The destination (instance) that was sent the request last, `scheme://address:port`; undefined when none was. */
  readonly upstream: string | undefined;
  /** The resolved client's address (see edge/client.ts). */
  readonly client: string;
  /** `HTTP/1.1`, `HTTP/2`, ... as the request arrived. */
  readonly protocol: string;
  readonly route: string;
  /** `legacy` or `target`, with why (`SPLIT`, `FORCED`, a flag error), or `unrouted`. */
  readonly decision: string;
  readonly backend: string;
  readonly status: number;
  /** The client left, or the answer was cut, before the response was complete. */
  readonly completed: boolean;
  readonly bytes: number | undefined;
  readonly durationMs: number;
  /** From the request's start to the upstream's response head; undefined when none came. */
  readonly upstreamMs: number | undefined;
  readonly requestId: string;
  readonly traceparent: string | undefined;
}

/** The access log: one JSON line per sampled request, or nothing (ratio 0, the default). */
export interface AccessLog {
  /** Whether this request is logged (decided once per request, by the sample ratio). */
  sampled(): boolean;
  write(entry: AccessEntry): void;
}

/** A decision as the access log and the spans show it: `target:SPLIT`, `legacy:FORCED`, or `unrouted`. */
export const decisionLabel = (decision: { readonly role: string; readonly reason: string } | undefined): string => (decision ? `${decision.role}:${decision.reason}` : "unrouted");

/** The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), or undefined. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  if (traceparent === undefined) return undefined;
  const match = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(traceparent.trim());
  return match && match[1] !== "0".repeat(32) ? match[1] : undefined;
}

/** Where pino writes a logger's lines, and the fields its child adds to each: reached through pino's exported symbols. */
interface PinoInternals {
  readonly destination: { write(chunk: string): unknown } | undefined;
  readonly bindings: string | undefined;
}

function pinoInternals(log: Logger): PinoInternals {
  const fields = log as unknown as Record<symbol, unknown>;
  const destination = fields[pino.symbols.streamSym] as PinoInternals["destination"];
  const bindings = fields[pino.symbols.chindingsSym];
  return { destination: typeof destination?.write === "function" ? destination : undefined, bindings: typeof bindings === "string" ? bindings : undefined };
}

/** Batches written out when the process exits (a batch waits at most for the end of its event-loop turn). */
const unflushed = new Set<() => void>();
let exitHooked = false;

/**
 * An access log on `logger` (pino, JSON lines), with Envoy-like fields: time, client, protocol, method, path (no query: it
 * may hold personal data), route, decision, backend, status, bytes, duration and upstream time in ms,
 * request id and trace id. `settings()` is read per request, so a reload changes the ratio at once.
 *
 * Each line is the one pino would write for `log.info(fields, "access")` (same fields, same order), built
 * directly, and the lines of one event-loop turn go to pino's destination in one write: through pino, a
 * line per request cost 1.7 × a pass-through request in instructions (its generic serialiser and a write
 * per line). Lines are ordered among themselves; a batch may land after another log line of its turn.
 */
export function createAccessLog(logger: Logger, settings: () => { readonly sampleRatio: number; readonly maxBatchBytes: number }): AccessLog {
  const log = logger.child({ log: "access" });
  const { destination, bindings } = pinoInternals(log);
  let pending = "";
  const flush = (): void => {
    if (pending === "") return;
    const lines = pending;
    pending = "";
    unflushed.delete(flush);
    destination?.write(lines);
  };
  if (!exitHooked) {
    exitHooked = true;
    process.on("exit", () => {
      for (const write of [...unflushed]) write();
    });
  }
  return {
    sampled() {
      const r = settings().sampleRatio;
      return r >= 1 || (r > 0 && Math.random() < r);
    },
    write(e) {
      if (!log.isLevelEnabled("info")) return;
      if (!destination || bindings === undefined) return void log.info(accessFields(e), "access");
      if (pending === "") {
        unflushed.add(flush);
        setImmediate(flush);
      }
      pending += `{"level":30,"time":${Date.now()}${bindings},${accessJson(e)},"msg":"access"}\n`;
      // Characters, not bytes: the same for the ASCII of nearly every line, and a bound all the same.
      if (pending.length >= settings().maxBatchBytes) flush();
    },
  };
}

/**
 * `JSON.stringify(accessFields(e))` without its braces, written field by field: no object made for the
 * line, and its short strings quoted without a call into JSON (see jsonString). A unit test holds the two equal.
 */
function accessJson(e: AccessEntry): string {
  const traceId = traceIdOf(e.traceparent);
  return (
    `"method":${jsonString(e.method)},"path":${jsonString(e.path)},"upstreamPath":${e.upstreamPath === undefined ? "null" : jsonString(e.upstreamPath)},` +
    `"upstream":${e.upstream === undefined ? "null" : jsonString(e.upstream)},"client":${jsonString(e.client)},"protocol":${jsonString(e.protocol)},` +
    `"route":${jsonString(e.route)},"decision":${jsonString(e.decision)},"backend":${jsonString(e.backend)},` +
    `"status":${e.completed ? jsonNumber(e.status) : "0"},"completed":${e.completed ? "true" : "false"},` +
    `"bytes":${e.bytes === undefined ? "null" : jsonNumber(e.bytes)},"durationMs":${jsonMilliseconds(e.durationMs)},` +
    `"upstreamMs":${e.upstreamMs === undefined ? "null" : jsonMilliseconds(e.upstreamMs)},` +
    `"requestId":${jsonString(e.requestId)},"traceId":${traceId === undefined ? "null" : jsonString(traceId)}`
  );
}

/** The fields of one access line, in the order they are written. */
function accessFields(e: AccessEntry) {
  return {
    method: e.method,
    path: e.path,
    upstreamPath: e.upstreamPath ?? null,
    upstream: e.upstream ?? null,
    client: e.client,
    protocol: e.protocol,
    route: e.route,
    decision: e.decision,
    backend: e.backend,
    status: e.completed ? e.status : 0,
    completed: e.completed,
    bytes: e.bytes ?? null,
    durationMs: Math.round(e.durationMs * 1000) / 1000,
    upstreamMs: e.upstreamMs === undefined ? null : Math.round(e.upstreamMs * 1000) / 1000,
    requestId: e.requestId,
    traceId: traceIdOf(e.traceparent) ?? null,
  };
}
