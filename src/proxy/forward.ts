import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { errors, type Dispatcher } from "undici";
import type { RepeatedEvents } from "../log/repeated-events.ts";
import { statusClassOf, UNROUTED, type ProxyMetrics } from "../metrics/proxy-metrics.ts";
import type { ShadowSession } from "../shadow/shadow-session.ts";
import type { ExchangeRecording } from "../recording/recorder.ts";
import type { ServerLimits } from "../config/schema.ts";
import type { TrafficRecorder } from "../map/traffic-map.ts";
import type { Span } from "@opentelemetry/api";
import type { Decision } from "../decision/decider.ts";
import { decisionLabel, type AccessLog } from "./access-log.ts";
import { endSpan, startUpstreamSpan } from "./tracing.ts";
import { admit, release } from "./admission.ts";
import type { Backend } from "./backend-pool.ts";
import type { Destination } from "./destination.ts";
import type { DestinationSet } from "./destination-set.ts";
import { clientResponseHead, headersForBackend } from "./headers.ts";
import { RawHead } from "./raw-head.ts";
import { clientOf } from "../edge/client.ts";
import { lingerOnClose } from "./linger.ts";
import { bodyTooLarge, isClientBodyTimeout } from "./request-body.ts";
import { classifyUpstreamError, isClientAbort, retryReasonOf, sendProxyError, type RetryReason } from "./upstream-error.ts";

/** Why a request was replayed to the monolith. A fixed set: used as a label value. */
export type FallbackReason = "status_5xx" | "transport_error" | "circuit_open" | "overloaded";

/**
 * One request on its way through the proxy. `backend`, `servedBy`, `shadow` and `fallback` change when the request is replayed.
 */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  backend: Backend;
  readonly requestId: string;
  /** The path and query as the client sent them (normalised): what the monolith gets. */
  readonly pathAndQuery: string;
  /** What the route's target gets: `pathAndQuery` after the route's rewrite (the same string without one). */
  readonly targetPathAndQuery: string;
  /** The Host the route's target gets in place of its own URL's (the client's, by `rewrite.host`); undefined for its own. */
  readonly targetHost: string | undefined;
  /** The normalised path, without the query: what the migration map folds. */
  readonly path: string;
  /** `[header, backend name]` to add to the response, or undefined when turned off. */
  servedBy: readonly [string, string] | undefined;
  /** Route id, or the unrouted label. */
  readonly routeId: string;
  /** Set-Cookie to add (a sticky id the proxy issued), if any. */
  readonly setCookie: string | undefined;
  /** The shadow comparison this request is part of, if sampled. */
  shadow: ShadowSession | undefined;
  /** The recording capturing this exchange with the monolith, if its route is being recorded. */
  recording: ExchangeRecording | undefined;
  /**
   * The request body as sent upstream: none, read whole (a Buffer, which a replay can send again), or a
   * stream of the rest of it, which holds its backend connection while the client sends.
   */
  body: Buffer | Readable | null;
  /** The destination whose place this request holds now (see admission.ts), released when the attempt ends. */
  admitted: Destination | undefined;
  /** The destination of the current (or last) attempt: its breaker hears how the attempt ended. */
  destination: Destination | undefined;
  /** May be sent twice (idempotent, or with an idempotency key): a failure before any answer byte is retried once on another destination. */
  readonly retryable: boolean;
  /** Set once retried: a request is retried at most once. */
  retried: boolean;
  /** While the current attempt is a retry: the destinations whose retry budget it holds a place in, until it ends. */
  retryHeld: DestinationSet | undefined;
  /** The current attempt's answer has begun (its head arrived): too late to retry it. */
  answerStarted: boolean;
  /** Where to replay the request if the target fails it (the body is then a Buffer or none); undefined when not eligible. */
  fallback: { readonly legacy: Backend } | undefined;
  /** Set when the target answered 5xx and the request will be replayed once that answer is drained. */
  replay: FallbackReason | undefined;
  /** `performance.now()` when the request (or its current attempt) started. */
  started: number;
  /** The client-side bounds in force for this request. */
  readonly limits: ServerLimits;
  readonly metrics: ProxyMetrics;
  /** The migration map, told of each finished exchange; none when absent. */
  readonly traffic: TrafficRecorder | undefined;
  /** Which side of its route a backend is: the route's target, or the monolith. */
  readonly targetName: string | undefined;
  /** The access log when this request was sampled for it; undefined otherwise (the common case). */
  readonly accessLog: AccessLog | undefined;
  /** The routing decision (undefined for unrouted traffic); formatted only when a line is logged. */
  readonly decision: Decision | undefined;
  /** ms from the request's start to the upstream's response head (set when it arrives). */
  upstreamMs: number | undefined;
  /** The upstream answer's Content-Length, when it had one (the map's and the access log's bytes). */
  responseBytes: number | undefined;
  /** OpenTelemetry spans, when an SDK records them: the request's, and its current upstream attempt's. */
  readonly spans: { readonly server: Span; upstream: Span | undefined; upstreamStatus: number | undefined } | undefined;
  /** Per-request events (failures, replays) are logged through this, rate-limited. */
  readonly events: RepeatedEvents;
  /** Set when the client went away before its answer was complete. */
  clientGone: boolean;
  /** The upstream attempt under way, which the client's leaving aborts. */
  attempt: UpstreamAttempt | undefined;
}

/**
 * Starts the client's answer from the upstream's raw head; returns where its body goes: the client's
 * response, or undefined when the answer is a 5xx about to be replayed (it is dropped).
 */
function startAnswer(ex: Exchange, statusCode: number, rawHeaders: readonly Buffer[]): ServerResponse | undefined {
  ex.answerStarted = true;
  if (ex.accessLog) ex.upstreamMs = performance.now() - ex.started;
  if (ex.spans) ex.spans.upstreamStatus = statusCode;
  if (ex.fallback && statusCode >= 500) {
    ex.replay = "status_5xx"; // nothing has reached the client yet: the monolith answers instead
    return undefined;
  }
  // A shadowed answer's head is kept raw for its comparison, with the names and values this pass makes.
  const names: string[] | undefined = ex.shadow ? [] : undefined;
  const values: string[] | undefined = ex.shadow ? [] : undefined;
  const head = clientResponseHead(rawHeaders, ex.requestId, ex.servedBy, ex.setCookie, names, values);
  ex.responseBytes = head.contentLength === undefined ? undefined : Number(head.contentLength);
  if (!ex.req.complete) {
    // The backend answers before the whole body arrived (it refused an upload, say): this connection
    // cannot be reused, and the rest of the body is drained after the answer so the client reads it.
    // (An HTTP/2 stream ends on its own, without touching the connection: see linger.ts.)
    if (ex.req.httpVersionMajor !== 2) head.headers.push("connection", "close");
    lingerOnClose(ex.req, ex.limits);
  }
  ex.res.writeHead(statusCode, head.headers);
  if (names) ex.shadow?.primaryHead(statusCode, new RawHead(rawHeaders, names, values), head.contentLength);
  ex.recording?.head(statusCode, rawHeaders);
  return ex.res;
}

/**
 * One attempt to get an exchange's answer from a backend: an undici dispatch handler, which writes the
 * answer to the client as it arrives and pauses the upstream while the client cannot take more.
 *
 * It speaks the handler interface undici's HTTP/1.1 client calls itself (onConnect, onHeaders with the
 * raw head, onData, onComplete, onError). undici marks it deprecated in favour of onRequestStart and
 * onResponse*, but it still calls this one, and reaches the newer one through an adapter that costs, per
 * request, an adapter and a controller object and the head parsed into an object (twice: the trailers
 * too), which the client's head is then rebuilt from. From the raw head, the client's is built in one pass.
 *
 * Why not `pool.stream` with an abort signal: its per-request machinery (a stream handler, an end-of-
 * stream watcher on the response, listeners, and the signal) made every exchange outlive two young-
 * generation collections, so that each one was copied twice and promoted; see docs/performance.md.
 * Here the attempt holds undici's abort function, and the client's leaving aborts through it.
 */
class UpstreamAttempt implements Dispatcher.DispatchHandler {
  #abortUpstream: ((reason: Error) => void) | undefined = undefined;
  #sink: ServerResponse | undefined = undefined;
  /** Why the attempt was aborted before undici started it, if it was. */
  #abortedBefore: Error | undefined = undefined;
  /** The upstream's answer has ended, whole or not: nothing is left to abort. */
  #upstreamDone = false;
  #over = false;
  #resumeUpstream: (() => void) | undefined = undefined;

  constructor(readonly ex: Exchange) {}

  /** Aborts the attempt (the client left, or its request body failed): undici then reports the error. */
  abort(reason: Error): void {
    if (this.#upstreamDone) return;
    if (this.#abortUpstream) this.#abortUpstream(reason);
    else this.#abortedBefore ??= reason;
  }

  onConnect(abort: (reason: Error) => void): void {
    this.#abortUpstream = abort;
    if (this.#abortedBefore) abort(this.#abortedBefore);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // an informational answer (103 Early Hints): the real one follows
    this.#resumeUpstream = resume;
    this.#sink = startAnswer(this.ex, statusCode, rawHeaders);
    return true;
  }

  /** Returns false to pause the upstream while the client is slower than the backend. */
  onData(chunk: Buffer): boolean {
    const sink = this.#sink;
    if (!sink) return true;
    // A shadowed exchange keeps a bounded copy of what the client is sent (no stream in between: a tee
    // Writable per request cost more than the copy; see docs/performance.md).
    this.ex.shadow?.primaryChunk(chunk);
    this.ex.recording?.chunk(chunk);
    if (sink.write(chunk)) return true;
    // Held until the client has taken this chunk.
    sink.once("drain", this.#resumeUpstream as () => void);
    return false;
  }

  onComplete(): void {
    this.#upstreamDone = true;
    this.#sink?.end();
    this.#finish(null);
  }

  onError(error: Error): void {
    this.#upstreamDone = true;
    this.#finish(error); // the client's response is cut (or answered) by finished()
  }

  #finish(error: Error | null): void {
    if (this.#over) return;
    this.#over = true;
    if (this.ex.attempt === this) this.ex.attempt = undefined;
    finished(this.ex, error);
  }
}

/** Answers with a proxy error; a request body still arriving is drained after it (see linger.ts). */
function answerError(ex: Exchange, status: number, code: string, message: string): void {
  if (isStreaming(ex.body) && !ex.admitted) ex.body.destroy(); // never sent: stop its idle timer
  const unread = !ex.req.complete;
  if (unread) lingerOnClose(ex.req, ex.limits);
  sendProxyError(ex.res, status, code, message, ex.requestId, unread);
}

/** Which side of its route the backend serving the exchange is (unrouted traffic is the monolith's). */
function sideOf(ex: Exchange): "legacy" | "target" {
  return ex.backend.name === ex.targetName ? "target" : "legacy";
}

/** Sends the request to the monolith instead, counting the target's failure where the guards see it. */
function replayToLegacy(ex: Exchange, reason: FallbackReason): void {
  const fallback = ex.fallback;
  if (!fallback) return;
  ex.metrics.observe(ex.routeId, ex.backend.name, sideOf(ex), "5xx", (performance.now() - ex.started) / 1000);
  ex.metrics.fallback(ex.routeId, reason);
  ex.events.info(`replay\u0000${ex.routeId}\u0000${reason}`, { route: ex.routeId, backend: ex.backend.name, reason }, "replayed to legacy");
  ex.shadow?.primaryDone(null, true); // the pair is no longer the one the client sees
  ex.shadow = undefined;
  ex.recording?.done(null, true);
  ex.recording = undefined;
  ex.fallback = undefined; // one replay at most
  ex.replay = undefined;
  ex.answerStarted = false;
  ex.backend = fallback.legacy;
  if (ex.servedBy) ex.servedBy = [ex.servedBy[0], fallback.legacy.name];
  ex.started = performance.now();
  dispatch(ex, fallback.legacy.destinations.pick());
}

/**
 * Whether a failed attempt is sent again, once, to another destination of the same backend: it failed
 * before any byte of its answer, by a refused or failed connection or a reset; the request may be sent
 * twice and its body is still held whole; and the backend's retry budget has room. Counted either way.
 */
function retried(ex: Exchange, reason: RetryReason | undefined, failed: Destination): boolean {
  if (ex.retried || !ex.retryable || ex.answerStarted || isStreaming(ex.body)) return false;
  if (reason === undefined) return false;
  const { destinations } = ex.backend;
  const other = destinations.pick(failed);
  if (!other) return false; // the one destination there is (or every other one ejected): the fallback's turn
  if (!destinations.retryAllowed(ex.backend.config.retries)) {
    ex.metrics.retrySkipped(ex.backend.name, "budget");
    return false;
  }
  ex.metrics.retry(ex.backend.name, reason);
  ex.events.info(`retry\u0000${ex.backend.name}\u0000${reason}`, { route: ex.routeId, backend: ex.backend.name, from: failed.origin, to: other.origin, reason }, "retried on another destination");
  ex.retried = true;
  ex.retryHeld = destinations;
  destinations.retriesInFlight++;
  dispatch(ex, other);
  return true;
}

/** Gives back the retry budget's place the current attempt held, if it is a retry (at its end, or when it was never sent). */
function releaseRetry(ex: Exchange): void {
  const held = ex.retryHeld;
  if (held === undefined) return;
  held.retriesInFlight--;
  ex.retryHeld = undefined;
}

/** The attempt is over: with its answer delivered (error null), or with the error that ended it. */
function finished(ex: Exchange, error: Error | null): void {
  if (ex.spans?.upstream) {
    endSpan(ex.spans.upstream, ex.spans.upstreamStatus, error ? error.message : undefined);
    ex.spans.upstream = undefined;
    ex.spans.upstreamStatus = undefined;
  }
  if (ex.admitted) release(ex.admitted, isStreaming(ex.body));
  ex.admitted = undefined;
  releaseRetry(ex);
  const destination = ex.destination;
  const clientGone = ex.clientGone || (error !== null && isClientAbort(error));
  // A client that went silent mid-body, or sent more than its bound, says nothing about the backend: no
  // breaker failure, no replay.
  const tooLarge = error === null ? undefined : bodyTooLarge(error);
  const clientSilent = error !== null && (tooLarge !== undefined || isClientBodyTimeout(error));
  if (!clientGone && !clientSilent && destination) {
    if (error) destination.breaker.failure();
    else destination.breaker.success();
  }
  if (error && !clientGone && !clientSilent && destination) {
    const reason = retryReasonOf(error);
    if (reason === "connect_failure") ex.backend.destinations.connectionFailed();
    if (retried(ex, reason, destination)) return;
  }
  if (!error && ex.replay) return replayToLegacy(ex, ex.replay);
  if (error && !clientGone && !clientSilent && ex.fallback && !ex.res.headersSent) return replayToLegacy(ex, "transport_error");
  ex.shadow?.primaryDone(error, ex.clientGone || clientSilent);
  ex.recording?.done(error, ex.clientGone || clientSilent);
  if (!error) return;
  if (clientGone) {
    ex.res.destroy();
    return;
  }
  if (tooLarge) {
    ex.metrics.rejected("body_too_large");
    if (ex.res.headersSent) return void ex.res.destroy(); // the answer had started: cut, never a wrong end
    lingerOnClose(ex.req, ex.limits);
    sendProxyError(ex.res, 413, "body_too_large", `the request body is larger than the ${tooLarge.maxBytes} bytes this route accepts`, ex.requestId, true);
    return;
  }
  if (clientSilent) {
    ex.metrics.rejected("client_body_timeout");
    sendProxyError(ex.res, 408, "client_body_timeout", error.message, ex.requestId, true);
    return;
  }
  const failure = classifyUpstreamError(error, ex.backend.name);
  ex.events.warn(
    `upstream\u0000${ex.routeId}\u0000${ex.backend.name}\u0000${failure.code}`,
    { requestId: ex.requestId, route: ex.routeId, backend: ex.backend.name, code: failure.code, err: error.message, started: ex.res.headersSent },
    "upstream failure",
  );
  answerError(ex, failure.status, failure.code, failure.message);
}

function isStreaming(body: Buffer | Readable | null): body is Readable {
  return body !== null && !Buffer.isBuffer(body);
}

/** Sends the exchange to `destination` of its backend (undefined: none may take it, every breaker open). */
function dispatch(ex: Exchange, destination: Destination | undefined): void {
  const { req, backend } = ex;
  ex.destination = destination;
  if (!destination?.breaker.allow()) {
    releaseRetry(ex);
    if (ex.fallback) return replayToLegacy(ex, "circuit_open");
    ex.shadow?.primaryDone(null, true);
    ex.recording?.done(null, true);
    const which = backend.destinations.destinations.length > 1 ? "every destination of backend" : "backend";
    answerError(ex, 503, "circuit_open", `${which} "${backend.name}" is failing; not sending to it until its cool-down ends`);
    return;
  }
  const overload = admit(destination, backend.config, isStreaming(ex.body));
  if (overload) {
    releaseRetry(ex);
    ex.metrics.overloaded(backend.name, overload);
    if (ex.fallback) return replayToLegacy(ex, "overloaded");
    ex.shadow?.primaryDone(null, true);
    ex.recording?.done(null, true);
    const why = overload === "pending_requests" ? "requests already wait for a connection" : "uploads already stream to it";
    answerError(ex, 503, "upstream_overloaded", `backend "${backend.name}" is at its limit: ${why}; try again shortly`);
    return;
  }
  ex.admitted = destination;
  const toTarget = backend.name === ex.targetName;
  const host = toTarget && ex.targetHost !== undefined ? ex.targetHost : destination.host;
  // A shadowed request's headers are built once for all its backends (see ShadowSession.headersFor).
  const headers = ex.shadow ? ex.shadow.headersFor(host) : headersForBackend(req, ex.requestId, host);
  // A retry says so (as Envoy's x-envoy-attempt-count does), so a backend's logs can tell it from a new request.
  if (ex.retryHeld) headers.push("x-strangler-attempt", "2");
  if (ex.spans) ex.spans.upstream = startUpstreamSpan(ex.spans.server, backend.name, headers);
  const body = ex.body;
  const attempt = new UpstreamAttempt(ex);
  ex.attempt = attempt;
  // A streamed body that fails (the client went silent, or away) ends the attempt, sent or not.
  if (isStreaming(body)) body.once("error", (error) => attempt.abort(error));
  destination.pool.dispatch({ path: backend.basePath + (toTarget ? ex.targetPathAndQuery : ex.pathAndQuery), method: req.method as Dispatcher.HttpMethod, headers, body }, attempt);
}

/**
 * Whether the client was given the whole answer when its response closed. HTTP/1's `writableFinished`
 * says so; HTTP/2's compatibility response also reports it for a stream the client reset (CANCEL), where
 * nothing was ended and the stream's reset code is not 0.
 */
function answerDelivered(res: ServerResponse): boolean {
  if (!res.writableFinished || !res.writableEnded) return false;
  const stream = (res as ServerResponse & { stream?: { readonly rstCode?: number } }).stream;
  return stream === undefined || !stream.rstCode;
}

/** A path and query without the query (the access log's paths carry none: it may hold secrets). */
function pathOnly(pathAndQuery: string): string {
  const q = pathAndQuery.indexOf("?");
  return q === -1 ? pathAndQuery : pathAndQuery.slice(0, q);
}

const EXCHANGE = Symbol("strangler.exchange");
type ResponseOfExchange = ServerResponse & { [EXCHANGE]?: Exchange };

/** The client's response closed: record the exchange; abort upstream when the client left before the end. */
function onClientClose(this: ResponseOfExchange): void {
  const ex = this[EXCHANGE];
  if (!ex) return;
  this[EXCHANGE] = undefined;
  const { res } = ex;
  const completed = answerDelivered(res);
  if (!completed) {
    ex.clientGone = true;
    ex.attempt?.abort(new errors.RequestAbortedError("the client went away"));
  }
  const ms = performance.now() - ex.started;
  if (ex.spans) {
    ex.spans.server.setAttribute("strangler.backend", ex.backend.name);
    endSpan(ex.spans.server, completed ? res.statusCode : undefined, completed ? undefined : "the exchange was cut before its answer was complete");
  }
  const side = sideOf(ex);
  ex.metrics.observe(ex.routeId, ex.backend.name, side, statusClassOf(res.statusCode, completed), ms / 1000);
  if (ex.traffic) {
    ex.traffic.record(ex.req.method ?? "GET", ex.path, ex.routeId === UNROUTED ? undefined : ex.routeId, side, res.statusCode, completed, ms, ex.responseBytes);
  }
  if (ex.accessLog) {
    const traceparent = ex.req.headers.traceparent;
    const client = clientOf(ex.req);
    ex.accessLog.write({
      method: ex.req.method ?? "GET",
      path: ex.path,
      upstreamPath: sideOf(ex) === "target" && ex.targetPathAndQuery !== ex.pathAndQuery ? pathOnly(ex.targetPathAndQuery) : undefined,
      upstream: ex.destination?.origin,
      client: client.address,
      protocol: client.protocol,
      route: ex.routeId,
      decision: decisionLabel(ex.decision),
      backend: ex.backend.name,
      status: res.statusCode,
      completed,
      bytes: ex.responseBytes,
      durationMs: ms,
      upstreamMs: ex.upstreamMs,
      requestId: ex.requestId,
      traceparent: Array.isArray(traceparent) ? traceparent[0] : traceparent,
    });
  }
}

/**
 * Streams the request to `ex.backend` and its answer back to the client, with bounded memory both ways.
 * A client that goes away aborts the upstream exchange; a backend that fails gives a clean 502/504, or,
 * for a route with fallback, the monolith's answer.
 */
export function forward(ex: Exchange): void {
  // One listener function for every exchange, which finds its exchange on the response: a closure and a
  // once-wrapper per request cost more than the property.
  (ex.res as ResponseOfExchange)[EXCHANGE] = ex;
  ex.res.on("close", onClientClose);
  dispatch(ex, ex.backend.destinations.pick());
}
