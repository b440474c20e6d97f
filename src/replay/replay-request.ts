import { REDACTED } from "../redaction/redactor.ts";
import type { RecordedExchange } from "../store/recording-store.ts";
import type { SessionIds } from "./id-correlation.ts";
import type { PathRewrite } from "../routing/path-rewrite.ts";

/** Methods replayed against any target; the others are writes, sent only to a sandbox. */
export const READ_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);
/**
 * Never sent again from a stored request (a recorded exchange, or a divergence example replayed from the
 * admin API): hop-by-hop, or recomputed for the new connection, and the body's encoding (bodies are
 * stored decoded).
 */
export const NOT_RESENT_HEADERS: ReadonlySet<string> = new Set(["host", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length", "proxy-connection", "content-encoding", "expect"]);
/** The header every replayed request carries: `<run>/<exchange>`, so the candidate's logs tell replay from users. */
export const REPLAY_MARKER = "x-strangler-replay";

/** How a route's replayed requests authenticate (`routes[].replay.auth`), resolved: the header and its value. */
export interface ReplayAuth {
  readonly header: string;
  readonly value: string;
}

export interface ReplayRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

/**
 * The request a recorded exchange is replayed as: the recorded method, path and query (the session's
 * learned ids rewritten), its headers less the hop-by-hop ones and those stored redacted (a credential is
 * never in a recording: the route's `replay.auth` stands in), the marker, and for a write an
 * `Idempotency-Key` unique to the run and the exchange, so a retried replay never writes twice.
 */
export function replayRequest(base: string, exchange: RecordedExchange, runId: number, ids: SessionIds, auth: ReplayAuth | undefined, rewrite?: PathRewrite): ReplayRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(exchange.requestHeaders)) {
    if (NOT_RESENT_HEADERS.has(name) || value === REDACTED || value.includes(REDACTED)) continue;
    headers[name] = value;
  }
  if (auth) headers[auth.header] = auth.value;
  headers[REPLAY_MARKER] = `${runId}/${exchange.id}`;
  const write = !READ_METHODS.has(exchange.method);
  if (write) headers["idempotency-key"] = `strangler-replay-${runId}-${exchange.id}`;
  const query = ids.query(exchange.query);
  // The ids the service made are mapped in first; then the route's rewrite, as the proxy sends its target.
  const path = rewrite ? rewrite(ids.path(exchange.path)) : ids.path(exchange.path);
  const hasBody = exchange.requestBody !== "" && exchange.method !== "GET" && exchange.method !== "HEAD";
  return {
    url: `${base.replace(/\/+$/, "")}${path}${query ? `?${query}` : ""}`,
    method: exchange.method,
    headers,
    body: hasBody ? ids.body(exchange.requestBody) : undefined,
  };
}
