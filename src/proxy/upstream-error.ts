import { Buffer } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

/** What the client is told when the backend could not answer. */
export interface UpstreamFailure {
  readonly status: 502 | 504;
  readonly code: string;
  readonly message: string;
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  // undici wraps socket errors; the first code on the cause chain is the telling one.
  for (let depth = 0; depth < 4 && current && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code !== "UND_ERR_SOCKET") return code;
    if (code === "UND_ERR_SOCKET") {
      const cause = (current as { cause?: unknown }).cause;
      const inner = cause && typeof cause === "object" ? (cause as { code?: unknown }).code : undefined;
      return typeof inner === "string" ? inner : code;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Maps a transport error from the forwarding engine to the 502 or 504 the client gets. */
export function classifyUpstreamError(error: unknown, backend: string): UpstreamFailure {
  const code = errorCode(error);
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
    case "ETIMEDOUT":
      return { status: 504, code: "upstream_connect_timeout", message: `backend "${backend}" did not accept a connection in time` };
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return { status: 504, code: "upstream_timeout", message: `backend "${backend}" did not answer in time` };
    case "ECONNREFUSED":
      return { status: 502, code: "upstream_refused", message: `backend "${backend}" refused the connection` };
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return { status: 502, code: "upstream_unresolvable", message: `backend "${backend}" has a host name that does not resolve` };
    case "ECONNRESET":
    case "EPIPE":
    case "UND_ERR_SOCKET":
    case "UND_ERR_CLOSED":
      return { status: 502, code: "upstream_reset", message: `backend "${backend}" closed the connection before answering` };
    default:
      return { status: 502, code: "upstream_error", message: `backend "${backend}" could not be reached (${code ?? "unknown error"})` };
  }
}

/** Why a failed attempt may be retried elsewhere: its connection failed, or was reset before any answer. A fixed set: used as a label value. */
export type RetryReason = "connect_failure" | "reset";

/**
 * The retry reason of a transport error, or undefined for one that must not be retried: a timeout
 * waiting for the answer (the backend may be doing the work), or anything unknown.
 */
export function retryReasonOf(error: unknown): RetryReason | undefined {
  switch (errorCode(error)) {
    case "ECONNREFUSED":
    case "UND_ERR_CONNECT_TIMEOUT":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "connect_failure";
    case "ECONNRESET":
    case "EPIPE":
    case "UND_ERR_SOCKET":
    case "UND_ERR_CLOSED":
      return "reset";
    default:
      return undefined;
  }
}

/** True for errors that mean the client went away, which need no answer. */
export function isClientAbort(error: unknown): boolean {
  const code = errorCode(error);
  return code === "UND_ERR_ABORTED" || (error instanceof Error && error.name === "AbortError");
}

/**
 * Answers the client with a JSON error body `{ error: { code, message, requestId } }`, or, when the
 * response has already started, cuts the connection so the client sees a truncated body, not a wrong one.
 * `closeConnection` closes the client connection after the answer (when the request body was not read).
 */
export function sendProxyError(res: ServerResponse, status: number, code: string, message: string, requestId: string, closeConnection = false): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code, message, requestId } });
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "x-request-id": requestId,
    "cache-control": "no-store",
    // A request body left unread would be parsed as the next request: close instead of keeping alive.
    // (HTTP/2 has no such header: its streams end on their own; see linger.ts.)
    ...(closeConnection && !isHttp2Response(res) ? { connection: "close" } : {}),
  });
  res.end(body);
}

/** Whether a response is an HTTP/2 stream's (Node's compatibility object), where `Connection` is forbidden. */
function isHttp2Response(res: ServerResponse): boolean {
  return (res.req as IncomingMessage | undefined)?.httpVersionMajor === 2;
}

/**
 * Answers on a raw socket (an upgrade, or a request Node's parser refused, where there is no
 * ServerResponse) with a JSON error body, and closes it.
 */
export function endSocketWithError(socket: Duplex, statusLine: string, error: Readonly<Record<string, string>>): void {
  const body = JSON.stringify({ error });
  socket.end(`HTTP/1.1 ${statusLine}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
