import type { Logger } from "pino";

/** What one finished exchange tells the access log. */
export interface AccessEntry {
  readonly method: string;
  readonly path: string;
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
  const match = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(traceparent?.trim() ?? "");
  return match && match[1] !== "0".repeat(32) ? match[1] : undefined;
}

/**
 * An access log on `logger` (pino, JSON lines), with Envoy-like fields: time, client, protocol, method, path (no query: it
 * may hold personal data), route, decision, backend, status, bytes, duration and upstream time in ms,
 * request id and trace id. `ratio()` is read per request, so a reload changes it at once.
 */
export function createAccessLog(logger: Logger, ratio: () => number): AccessLog {
  const log = logger.child({ log: "access" });
  return {
    sampled() {
      const r = ratio();
      return r >= 1 || (r > 0 && Math.random() < r);
    },
    write(e) {
      log.info(
        {
          method: e.method,
          path: e.path,
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
        },
        "access",
      );
    },
  };
}
