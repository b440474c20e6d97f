import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttp2Server, type Http2Server, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { IDEMPOTENT_METHODS, type ServerLimits } from "../config/schema.ts";
import type { BackendRole, Decision, RoutingDecider } from "../decision/decider.ts";
import type { TrafficRecorder } from "../map/traffic-map.ts";
import type { AccessLog } from "./access-log.ts";
import { startServerSpan } from "./tracing.ts";
import type { RepeatedEvents } from "../log/repeated-events.ts";
import { UNROUTED, type ProxyMetrics, type RejectionReason } from "../metrics/proxy-metrics.ts";
import { ByteBudget } from "./byte-budget.ts";
import type { ShadowRunner } from "../shadow/shadow-runner.ts";
import type { Recorder, StickyKeySource } from "../recording/recorder.ts";
import { normalizeRequestTarget } from "../routing/normalize-path.ts";
import type { CompiledRoute } from "../routing/route-table.ts";
import type { Backend } from "./backend-pool.ts";
import { forward, type Exchange } from "./forward.ts";
import { hasBody } from "./has-body.ts";
import type { ProxyState, StateHolder } from "./proxy-state.ts";
import { readRequestBody } from "./request-body.ts";
import { lingerOnClose } from "./linger.ts";
import { requestIdFor } from "./request-id.ts";
import { endSocketWithError, sendProxyError } from "./upstream-error.ts";
import { createUpgradeProxy, isWebSocketUpgrade } from "./websocket.ts";
import { resolveClient, setClient } from "../edge/client.ts";
import { connectionFacts } from "../edge/connection.ts";

export interface DataPlaneOptions {
  readonly state: StateHolder;
  readonly decider: RoutingDecider;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  /** Starts shadow comparisons for sampled requests; none when absent. */
  readonly shadows?: ShadowRunner;
  /** Captures the exchanges of recorded routes that the monolith answers; none when absent. */
  readonly recorder?: Recorder;
  /** Per-request events (upstream failures, replays), logged rate-limited. */
  readonly events: RepeatedEvents;
  /** The migration map, told of every finished exchange; none when absent. */
  readonly traffic?: TrafficRecorder;
  /** The access log (a sample of requests, or none). */
  readonly accessLog?: AccessLog;
}

const DECIDER_FAILED: Decision = { role: "legacy", reason: "ERROR" };

/** A recorded request's sticky key, and the header or query parameter it came from (to be pseudonymized there). */
function stickySource(route: CompiledRoute, decision: Decision | undefined): StickyKeySource | undefined {
  if (decision?.key === undefined) return undefined;
  const source = route.config.rollout.key;
  if (typeof source === "object" && "header" in source) return { key: decision.key, header: source.header };
  if (typeof source === "object" && "query" in source) return { key: decision.key, query: source.query };
  return { key: decision.key };
}

function backendFor(state: ProxyState, route: CompiledRoute, role: BackendRole): Backend {
  const name = role === "target" ? route.config.target : route.config.legacy;
  // Validation guarantees every named backend exists; the monolith is the safe answer regardless.
  return state.backends.get(name) ?? state.legacy;
}

/** A decider that failed sends the request to the monolith: the proxy is never the reason a request fails. */
function decisionFailed(logger: Logger, route: CompiledRoute, error: unknown): Decision {
  logger.error({ route: route.id, err: (error as Error).message }, "routing decision failed; serving from legacy");
  return DECIDER_FAILED;
}

/** The decision for a routed request: synchronous when the decider answers so (the common case). */
function decide(decider: RoutingDecider, route: CompiledRoute, req: IncomingMessage, logger: Logger): Decision | Promise<Decision> {
  let decision: Decision | Promise<Decision>;
  try {
    decision = decider.decide(route, req);
  } catch (error) {
    return decisionFailed(logger, route, error);
  }
  return "then" in decision ? decision.catch((error: unknown) => decisionFailed(logger, route, error)) : decision;
}

/**
 * Whether a request to a route's target may be replayed to the monolith if the target fails it: the
 * route asks for fallback, and the request is idempotent (or carries the route's idempotency key) with
 * no body, or a body of known length within the limit (read whole first, so it can be sent twice).
 */
function fallbackPlan(route: CompiledRoute, req: IncomingMessage, legacy: Backend): { legacy: Backend; maxBodyBytes: number } | undefined {
  const fallback = route.config.fallback;
  if (!fallback) return undefined;
  if (!IDEMPOTENT_METHODS.has(req.method ?? "GET") && !keyedBy(route, req)) return undefined;
  if (hasBody(req)) {
    const length = Number(req.headers["content-length"]);
    if (!Number.isFinite(length) || length > fallback.maxBodyBytes) return undefined;
  }
  return { legacy, maxBodyBytes: fallback.maxBodyBytes };
}

/** Whether the request carries its route's own idempotency key header (`fallback.idempotencyKeyHeader`). */
function keyedBy(route: CompiledRoute | undefined, req: IncomingMessage): boolean {
  const header = route?.config.fallback?.idempotencyKeyHeader;
  return header !== undefined && req.headers[header] !== undefined;
}

/** A request head that may be routed (its normalised target), or why it is refused before routing. */
type HeadCheck =
  | { readonly ok: true; readonly path: string; readonly query: string }
  | { readonly ok: false; readonly status: 400 | 503; readonly reason: RejectionReason; readonly message: string };

function refusedHead(status: 400 | 503, reason: RejectionReason, message: string): HeadCheck {
  return { ok: false, status, reason, message };
}

function pathAndQueryOf(target: { readonly path: string; readonly query: string }): string {
  return target.query === "" ? target.path : `${target.path}?${target.query}`;
}

/** What a route's target gets where the route rewrites it: its own path (and query), and the client's Host if asked. */
function targetRequestOf(route: CompiledRoute | undefined, req: IncomingMessage, target: { readonly path: string; readonly query: string }, pathAndQuery: string): { pathAndQuery: string; host: string | undefined } {
  return {
    pathAndQuery: route?.targetPath ? pathAndQueryOf({ path: route.targetPath(target.path), query: target.query }) : pathAndQuery,
    host: route?.config.rewrite?.host === "client" ? req.headers.host : undefined,
  };
}

/** `[header, backend name]` for the response, or undefined when `servedByHeader` is off. */
function servedByOf(state: ProxyState, backend: Backend): readonly [string, string] | undefined {
  const header = state.config.servedByHeader;
  return header === false ? undefined : [header, backend.name];
}

/** RFC 9112 §3.2: a request with several Host headers is refused; Node keeps only the first. */
function hostCount(req: IncomingMessage): number {
  let count = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).length === 4 && (raw[i] as string).toLowerCase() === "host") count++;
  return count;
}

/** The reason a request head is refused before routing, or undefined: a missing or repeated Host. */
export function hostProblem(req: IncomingMessage): string | undefined {
  const hosts = hostCount(req);
  if (hosts > 1) return "the request has more than one Host header";
  if (hosts === 0 && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) return "an HTTP/1.1 request needs a Host header";
  return undefined;
}

/** Connection options that ask for the upgrade, which a request served as plain HTTP must not carry on. */
const UPGRADE_TOKENS = new Set(["upgrade", "http2-settings"]);

/**
 * The request's head as it arrived (names, order and values from `rawHeaders`), less the upgrade: the
 * `Upgrade` and `HTTP2-Settings` headers and those tokens of `Connection`. Node's parser has validated
 * every header already, so writing them back yields the same request, which it then parses as ordinary.
 */
export function requestHeadWithoutUpgrade(req: IncomingMessage): string {
  let text = `${req.method ?? "GET"} ${req.url ?? "/"} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    let value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (UPGRADE_TOKENS.has(lower)) continue;
    if (lower === "connection") {
      value = value.split(",").map((t) => t.trim()).filter((t) => t !== "" && !UPGRADE_TOKENS.has(t.toLowerCase())).join(", ");
      if (value === "") continue;
    }
    text += `${name}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}

/**
 * Sets the client-side bounds Node enforces itself: time for a request head, for a whole request, and
 * for an idle keep-alive connection (an idle HTTP/2 connection too). Called at start and on every
 * reload. The hard stop at accept (twice `maxConnections`) is the edge listener's.
 */
export function applyServerLimits(servers: DataPlaneServers, limits: ServerLimits): void {
  applyHttp1Limits(servers.http1, limits);
  servers.http2.setTimeout(limits.keepAliveTimeoutMs);
}

function applyHttp1Limits(server: Server, limits: ServerLimits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
}

/** The data plane's two servers, fed connections by the edge listener (src/edge/). */
export interface DataPlaneServers {
  readonly http1: Server;
  readonly http2: Http2Server;
}

/**
 * The data plane: HTTP servers (HTTP/1.x, and HTTP/2 on the same handler) that normalise each request
 * target, match it against the route table, ask the decision seam which backend serves it, and stream
 * the exchange through. They never listen themselves: the edge listener hands them connections.
 */
export function createDataPlane(options: DataPlaneOptions): DataPlaneServers {
  const { state, decider, logger, metrics, shadows } = options;
  const upgrades = createUpgradeProxy({ metrics, events: options.events });
  const initialLimits = state.current.config.server;
  const requestBudget = new ByteBudget(initialLimits.maxBufferedRequestBytes);

  function refuse(req: IncomingMessage, res: ServerResponse, status: number, reason: RejectionReason, message: string, requestId: string): void {
    metrics.rejected(reason);
    sendProxyError(res, status, reason, message, requestId, !req.complete || reason === "too_many_connections");
  }

  /** 413 for a body past its bound; the rest of the body is drained (bounded) so the client reads the answer. */
  function refuseTooLarge(req: IncomingMessage, res: ServerResponse, requestId: string, maxBytes: number, limits: ServerLimits): void {
    lingerOnClose(req, limits);
    refuse(req, res, 413, "body_too_large", `the request body is larger than the ${maxBytes} bytes this route accepts`, requestId);
  }

  /**
   * What every request head (an upgrade's too) must pass before it is routed: a connection within
   * `maxConnections`, exactly one Host (on HTTP/1.1), and a target that can be read one way.
   */
  function checkHead(req: IncomingMessage): HeadCheck {
    if (connectionFacts(req.socket)?.overCapacity) return refusedHead(503, "too_many_connections", "the proxy holds as many client connections as it allows; try again shortly");
    const badHost = hostProblem(req);
    if (badHost) return refusedHead(400, "malformed_request", badHost);
    const target = normalizeRequestTarget(req.url ?? "/");
    return target.ok ? target : refusedHead(400, "bad_request_target", target.reason);
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    // HTTP/2's `:authority` is the request's Host (RFC 9113 §8.3.1): routes that match on `host`, and
    // everything after, see it as they would over HTTP/1.1.
    if (req.httpVersionMajor === 2 && req.headers.host === undefined) {
      const authority = req.headers[":authority"];
      if (typeof authority === "string") req.headers.host = authority;
    }
    const requestId = requestIdFor(req.headers);
    const target = checkHead(req);
    if (!target.ok) return refuse(req, res, target.status, target.reason, target.message, requestId);
    const started = performance.now();
    const current = state.current; // one table for the whole request, even if a reload lands meanwhile
    setClient(req, resolveClient(req, current.trusted));
    const route = current.table.match(req.method ?? "GET", target.path, req.headers);
    if (!route) return proceed(req, res, requestId, target, started, current, undefined, undefined);
    const decision = decide(decider, route, req, logger);
    // No closure for the common, synchronous answer: one is made only to wait for a promise.
    if ("then" in decision) void decision.then((d) => proceed(req, res, requestId, target, started, current, route, d));
    else proceed(req, res, requestId, target, started, current, route, decision);
  }

  /** A request whose destination is decided: its exchange is made and forwarded (its body read first, if any). */
  function proceed(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    target: { readonly path: string; readonly query: string },
    started: number,
    current: ProxyState,
    route: CompiledRoute | undefined,
    decision: Decision | undefined,
  ): void {
    const limits = current.config.server;
    const maxBodyBytes = route?.config.maxRequestBodyBytes ?? limits.maxRequestBodyBytes;
    if (maxBodyBytes > 0 && Number(req.headers["content-length"]) > maxBodyBytes) return refuseTooLarge(req, res, requestId, maxBodyBytes, limits);
    const backend = route && decision ? backendFor(current, route, decision.role) : current.legacy;
    const fallback = route && decision?.role === "target" ? fallbackPlan(route, req, current.legacyOf(route)) : undefined;
    const server = startServerSpan(req, route, decision, requestId, target.path, started);
    const spans = server ? { server, upstream: undefined, upstreamStatus: undefined } : undefined;
    const pathAndQuery = pathAndQueryOf(target);
    const { pathAndQuery: targetPathAndQuery, host: targetHost } = targetRequestOf(route, req, target, pathAndQuery);
    const shadow =
      shadows && route?.config.shadow && decision?.key !== undefined
        ? shadows.start({
            route,
            key: decision.key,
            primaryRole: decision.role,
            primary: backend,
            backends: current.backends,
            targetPath: targetPathAndQuery,
            targetHost,
            req,
            requestId,
            path: target.path,
            query: target.query,
            traceLink: server?.spanContext(),
            started,
          })
        : undefined;
    const recorder = options.recorder;
    const recording =
      recorder && route && decision?.role !== "target" && recorder.isRecording(route.id) ? recorder.capture(route.id, req, target.path, target.query, stickySource(route, decision)) : undefined;
    const exchange: Exchange = {
      req,
      res,
      backend,
      requestId,
      pathAndQuery,
      targetPathAndQuery,
      targetHost,
      path: target.path,
      servedBy: servedByOf(current, backend),
      routeId: route?.id ?? UNROUTED,
      setCookie: decision?.setCookie,
      shadow,
      recording,
      body: null,
      admitted: undefined,
      destination: undefined,
      retryable: IDEMPOTENT_METHODS.has(req.method ?? "GET") || req.headers["idempotency-key"] !== undefined || keyedBy(route, req),
      retried: false,
      retryHeld: undefined,
      answerStarted: false,
      fallback: fallback ? { legacy: fallback.legacy } : undefined,
      replay: undefined,
      started,
      limits,
      metrics,
      traffic: options.traffic,
      targetName: route?.config.target,
      accessLog: options.accessLog?.sampled() ? options.accessLog : undefined,
      decision,
      upstreamMs: undefined,
      responseBytes: undefined,
      spans,
      events: options.events,
      clientGone: false,
      attempt: undefined,
    };
    if (!hasBody(req)) return forward(exchange);
    // The body is read up to the buffer size before a backend connection is taken (a replayable body
    // whole), so a client that sends slowly holds only its own connection.
    const intake = readRequestBody(req, {
      bufferBytes: fallback ? Math.max(limits.requestBufferBytes, fallback.maxBodyBytes) : limits.requestBufferBytes,
      idleTimeoutMs: limits.clientBodyTimeoutMs,
      budget: requestBudget,
      maxBytes: maxBodyBytes,
    });
    res.once("close", intake.release);
    void intake.result.then((body) => {
      if (body.kind === "too_large") {
        shadow?.primaryDone(null, true);
        recording?.done(null, true);
        return refuseTooLarge(req, res, requestId, maxBodyBytes, limits);
      }
      if (body.kind === "timeout" || body.kind === "aborted") {
        shadow?.primaryDone(null, true);
        recording?.done(null, true);
        if (body.kind === "aborted") return void res.destroy();
        return refuse(req, res, 408, "client_body_timeout", `the request body sent nothing for ${limits.clientBodyTimeoutMs} ms`, requestId);
      }
      if (body.kind === "streaming") exchange.fallback = undefined; // a streamed body cannot be sent twice
      const sent = shadow ? shadow.requestBody(body.body) : body.body;
      exchange.body = recording ? recording.requestBody(sent) : sent;
      forward(exchange);
    });
  }

  /**
   * An `Upgrade` request. A WebSocket handshake is routed like any request and proxied; anything else
   * (h2c, an upgrade on a POST, an unknown protocol) is served as ordinary HTTP/1.1, as nginx does:
   * Node has already handed the socket over, so its head is written back without the upgrade and the
   * socket is given to the server again as a fresh connection.
   */
  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!isWebSocketUpgrade(req)) return serveAsPlainHttp(req, socket as Socket, head);
    const requestId = requestIdFor(req.headers);
    const target = checkHead(req);
    if (!target.ok) {
      metrics.rejected(target.reason);
      endSocketWithError(socket, target.status === 503 ? "503 Service Unavailable" : "400 Bad Request", { code: target.reason, message: target.message, requestId });
      return;
    }
    const current = state.current;
    setClient(req, resolveClient(req, current.trusted));
    const route = current.table.match(req.method ?? "GET", target.path, req.headers);
    const join = (decision: Decision | undefined): void => {
      const backend = route && decision ? backendFor(current, route, decision.role) : current.legacy;
      const toTarget = route !== undefined && backend.name === route.config.target;
      const pathAndQuery = pathAndQueryOf(target);
      const rewritten = toTarget ? targetRequestOf(route, req, target, pathAndQuery) : { pathAndQuery, host: undefined };
      upgrades.upgrade(req, socket, head, {
        backend,
        pathAndQuery: rewritten.pathAndQuery,
        host: rewritten.host,
        requestId,
        routeId: route?.id ?? UNROUTED,
        servedBy: servedByOf(current, backend),
        setCookie: decision?.setCookie,
      });
    };
    const decision = route ? decide(decider, route, req, logger) : undefined;
    if (decision && "then" in decision) void decision.then(join);
    else join(decision);
  }

  function serveAsPlainHttp(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.unshift(Buffer.concat([Buffer.from(requestHeadWithoutUpgrade(req), "latin1"), head]));
    server.emit("connection", socket); // the edge's facts stay on the socket
  }

  const server = createServer(
    {
      maxHeaderSize: initialLimits.maxHeaderBytes,
      // Host is checked by the data plane itself, so that its absence gets the documented JSON 400.
      requireHostHeader: false,
      // How often Node looks for connections past headersTimeout/requestTimeout (default 30 s, too coarse).
      connectionsCheckingInterval: 1_000,
    },
    onRequest,
  );
  applyHttp1Limits(server, initialLimits);
  server.on("upgrade", onUpgrade);
  // CONNECT is for forward proxies; without a listener Node would leave the socket open and silent.
  server.on("connect", (req: IncomingMessage, socket: Duplex) => {
    metrics.rejected("malformed_request");
    endSocketWithError(socket, "405 Method Not Allowed", { code: "method_not_allowed", message: "CONNECT is not served: this is a reverse proxy", requestId: requestIdFor(req.headers) });
  });
  // Malformed requests (bad framing, conflicting Content-Length/Transfer-Encoding, oversized heads) are
  // refused by Node's parser before any routing; answer them plainly and close, never forward.
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || (socket as Duplex & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const timeout = error.code === "ERR_HTTP_REQUEST_TIMEOUT";
    metrics.rejected(timeout ? "client_header_timeout" : "malformed_request");
    const status = error.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : timeout ? "408 Request Timeout" : "400 Bad Request";
    const code = timeout ? "client_header_timeout" : "malformed_request";
    endSocketWithError(socket, status, { code, message: timeout ? "the request head did not arrive in time" : (error.code ?? "malformed request") });
  });
  server.on("close", () => upgrades.close());
  return { http1: server, http2: createHttp2DataPlane(initialLimits, onRequest, metrics) };
}

/**
 * The HTTP/2 server of the data plane: the same request handler, through Node's compatibility API,
 * whose request and response carry what the handler reads and calls of HTTP/1's (method, url, headers,
 * rawHeaders, socket, complete, the body stream; writeHead, write with back-pressure, end, close).
 * Node's own floods guards hold (rapid reset, CONTINUATION, settings and ping floods: nghttp2 and
 * Node ≥ 20.12); the bounds are the config's.
 */
function createHttp2DataPlane(limits: ServerLimits, onRequest: (req: IncomingMessage, res: ServerResponse) => void, metrics: ProxyMetrics): Http2Server {
  const h2 = limits.http2;
  const server = createHttp2Server(
    {
      settings: { maxConcurrentStreams: h2.maxConcurrentStreams, maxHeaderListSize: h2.maxHeaderListBytes, initialWindowSize: h2.initialWindowSize, enablePush: false },
      maxSessionMemory: h2.maxSessionMemoryMiB,
      // The largest response header block sent down (a backend's headers, compressed); past it Node
      // resets the stream rather than send it.
      maxSendHeaderBlockLength: 64 * 1024,
    },
    // Node's compatibility objects stand in for IncomingMessage and ServerResponse (see above).
    onRequest as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void,
  );
  // An idle HTTP/2 connection is closed as an idle keep-alive one is.
  server.setTimeout(limits.keepAliveTimeoutMs);
  server.on("connect", (req: Http2ServerRequest, res: Http2ServerResponse) => {
    metrics.rejected("malformed_request");
    sendProxyError(res as unknown as ServerResponse, 405, "method_not_allowed", "CONNECT is not served: this is a reverse proxy", requestIdFor(req.headers));
  });
  return server;
}
