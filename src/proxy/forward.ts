import type { IncomingMessage, ServerResponse } from "node:http";
import type { Writable } from "node:stream";
import type { Dispatcher } from "undici";
import type { Logger } from "pino";
import { statusClassOf, type ProxyMetrics } from "../metrics/proxy-metrics.ts";
import type { ShadowSession } from "../shadow/shadow-session.ts";
import type { Backend } from "./backend-pool.ts";
import { clientResponseHeaders, upstreamRequestHeaders } from "./headers.ts";
import { classifyUpstreamError, isClientAbort, sendProxyError } from "./upstream-error.ts";

/** One request on its way through the proxy; passed to undici as `opaque` so no closures are made per request. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly backend: Backend;
  readonly requestId: string;
  /** `[header, backend name]` to add to the response, or undefined when turned off. */
  readonly servedBy: readonly [string, string] | undefined;
  /** Route id, or the unrouted label. */
  readonly routeId: string;
  /** Set-Cookie to add (a sticky id the proxy issued), if any. */
  readonly setCookie: string | undefined;
  /** The shadow comparison this request is part of, if sampled. */
  readonly shadow: ShadowSession | undefined;
  /** `performance.now()` when the request arrived. */
  readonly started: number;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  readonly abort: AbortController;
}

/** True when the request carries a body (RFC 9112 §6.3: a length or a transfer coding says so). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  if (length !== undefined) return length !== "0";
  return req.headers["transfer-encoding"] !== undefined;
}

function writeHead({ statusCode, headers, opaque }: Dispatcher.StreamFactoryData<Exchange>): Writable {
  const ex = opaque;
  ex.res.writeHead(statusCode, clientResponseHeaders(headers, ex.requestId, ex.servedBy, ex.setCookie));
  return ex.shadow ? ex.shadow.primaryResponse(ex.res, statusCode, headers) : ex.res;
}

/** Closes the client connection once the response is out: its unread request body cannot be skipped. */
function closeAfterResponse(ex: Exchange): void {
  if (ex.res.writableFinished) ex.req.socket.destroySoon();
  else ex.res.once("finish", () => ex.req.socket.destroySoon());
}

function finished(error: Error | null, data: Dispatcher.StreamData<Exchange>): void {
  const ex = data.opaque;
  ex.shadow?.primaryDone(error, ex.abort.signal.aborted);
  if (!error) {
    if (!ex.req.complete) closeAfterResponse(ex);
    return;
  }
  if (ex.abort.signal.aborted || isClientAbort(error)) {
    ex.res.destroy();
    return;
  }
  const failure = classifyUpstreamError(error, ex.backend.name);
  ex.logger.warn(
    { requestId: ex.requestId, route: ex.routeId, backend: ex.backend.name, code: failure.code, err: error.message, started: ex.res.headersSent },
    "upstream failure",
  );
  sendProxyError(ex.res, failure.status, failure.code, failure.message, ex.requestId, !ex.req.complete);
}

/**
 * Streams the request to `ex.backend` and its answer back to the client, with bounded memory both ways.
 * A client that goes away aborts the upstream exchange; a backend that fails gives a clean 502/504.
 */
export function forward(ex: Exchange, pathAndQuery: string): void {
  const { req, res, backend } = ex;
  // Record the exchange when it ends; abort upstream when the client left before the response was complete.
  res.once("close", () => {
    const completed = res.writableFinished;
    if (!completed) ex.abort.abort();
    ex.metrics.observe(ex.routeId, backend.name, statusClassOf(res.statusCode, completed), (performance.now() - ex.started) / 1000);
  });
  const headers = upstreamRequestHeaders(req.headers, {
    clientAddress: req.socket.remoteAddress,
    proto: "encrypted" in req.socket && req.socket.encrypted ? "https" : "http",
    host: req.headers.host,
    requestId: ex.requestId,
    upstreamHost: backend.host,
  });
  backend.pool.stream<Exchange>(
    {
      path: backend.basePath + pathAndQuery,
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: hasBody(req) ? (ex.shadow?.requestBody(req) ?? req) : null,
      signal: ex.abort.signal,
      opaque: ex,
    },
    writeHead,
    finished,
  );
}
