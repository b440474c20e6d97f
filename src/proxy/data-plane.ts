import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { IDEMPOTENT_METHODS } from "../config/schema.ts";
import type { BackendRole, Decision, RoutingDecider } from "../decision/decider.ts";
import { UNROUTED, type ProxyMetrics } from "../metrics/proxy-metrics.ts";
import type { ShadowRunner } from "../shadow/shadow-runner.ts";
import { normalizeRequestTarget } from "../routing/normalize-path.ts";
import type { CompiledRoute } from "../routing/route-table.ts";
import type { Backend } from "./backend-pool.ts";
import type { CircuitBreakers } from "./circuit-breaker.ts";
import { forward, type Exchange } from "./forward.ts";
import { hasBody } from "./has-body.ts";
import type { ProxyState, StateHolder } from "./proxy-state.ts";
import { requestIdFor } from "./request-id.ts";
import { endSocketWithError, sendProxyError } from "./upstream-error.ts";
import { createUpgradeProxy } from "./websocket.ts";

export interface DataPlaneOptions {
  readonly state: StateHolder;
  readonly decider: RoutingDecider;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  /** Circuit breakers per backend. */
  readonly breakers: CircuitBreakers;
  /** Starts shadow comparisons for sampled requests; none when absent. */
  readonly shadows?: ShadowRunner;
  /** Largest request head accepted, in bytes; larger ones get 431. Default 16 KiB. */
  readonly maxHeaderSize?: number;
}

/** Where one request goes: the route that claimed it (if any), the backend chosen, and a cookie to set. */
interface Destination {
  readonly route: CompiledRoute | undefined;
  readonly backend: Backend;
  readonly setCookie: string | undefined;
  readonly decision: Decision | undefined;
}

const DECIDER_FAILED: Decision = { role: "legacy", reason: "ERROR" };

function backendFor(state: ProxyState, route: CompiledRoute, role: BackendRole): Backend {
  const name = role === "target" ? route.config.target : route.config.legacy;
  // Validation guarantees every named backend exists; the monolith is the safe answer regardless.
  return state.backends.get(name) ?? state.legacy;
}

/**
 * Resolves where a request goes and calls `then` with it: synchronously when the decider answers
 * synchronously (the common case), after its promise otherwise. A decider that fails sends the request
 * to the monolith: the proxy is never the reason a request fails.
 */
function resolveDestination(
  state: ProxyState,
  decider: RoutingDecider,
  req: IncomingMessage,
  path: string,
  logger: Logger,
  then: (destination: Destination) => void,
): void {
  const route = state.table.match(req.method ?? "GET", path, req.headers);
  if (!route) return then({ route: undefined, backend: state.legacy, setCookie: undefined, decision: undefined });
  const toDestination = (d: Decision): Destination => ({ route, backend: backendFor(state, route, d.role), setCookie: d.setCookie, decision: d });
  const failed = (error: unknown): void => {
    logger.error({ route: route.id, err: (error as Error).message }, "routing decision failed; serving from legacy");
    then(toDestination(DECIDER_FAILED));
  };
  let decision: Decision | Promise<Decision>;
  try {
    decision = decider.decide(route, req);
  } catch (error) {
    return failed(error);
  }
  if ("then" in decision) decision.then((d) => then(toDestination(d)), failed);
  else then(toDestination(decision));
}

/**
 * Whether a request to a route's target may be replayed to the monolith if the target fails it: the
 * route asks for fallback, and the request is idempotent (or carries the route's idempotency key) with
 * no body, or a body of known length within the limit.
 */
function fallbackPlan(route: CompiledRoute, req: IncomingMessage, legacy: Backend): { legacy: Backend; maxBodyBytes: number } | undefined {
  const fallback = route.config.fallback;
  if (!fallback) return undefined;
  const keyed = fallback.idempotencyKeyHeader !== undefined && req.headers[fallback.idempotencyKeyHeader] !== undefined;
  if (!IDEMPOTENT_METHODS.has(req.method ?? "GET") && !keyed) return undefined;
  if (hasBody(req)) {
    const length = Number(req.headers["content-length"]);
    if (!Number.isFinite(length) || length > fallback.maxBodyBytes) return undefined;
  }
  return { legacy, maxBodyBytes: fallback.maxBodyBytes };
}

/** Reads a body of known, bounded length whole; null for none. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  if (!hasBody(req)) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return reject(new Error("body over the fallback limit"));
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * The data plane: an HTTP server that normalises each request target, matches it against the route
 * table, asks the decision seam which backend serves it, and streams the exchange through.
 */
export function createDataPlane(options: DataPlaneOptions): Server {
  const { state, decider, logger, metrics, shadows, breakers } = options;
  const upgrades = createUpgradeProxy(logger);

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const requestId = requestIdFor(req.headers);
    const target = normalizeRequestTarget(req.url ?? "/");
    if (!target.ok) {
      metrics.rejected("bad_request_target");
      sendProxyError(res, 400, "bad_request_target", target.reason, requestId);
      return;
    }
    const started = performance.now();
    const pathAndQuery = target.query === "" ? target.path : `${target.path}?${target.query}`;
    const current = state.current; // one table for the whole request, even if a reload lands meanwhile
    resolveDestination(current, decider, req, target.path, logger, ({ route, backend, setCookie, decision }) => {
      const servedByHeader = current.config.servedByHeader;
      const fallback = route && decision?.role === "target" ? fallbackPlan(route, req, current.legacyOf(route)) : undefined;
      const shadow =
        shadows && route?.config.shadow && decision?.key !== undefined && !(fallback && hasBody(req))
          ? shadows.start({
              route,
              key: decision.key,
              primaryRole: decision.role,
              primary: backend,
              shadowPool: (name) => current.shadowBackends.get(name),
              req,
              requestId,
              path: target.path,
              query: target.query,
            })
          : undefined;
      const exchange: Exchange = {
        req,
        res,
        backend,
        requestId,
        pathAndQuery,
        servedBy: servedByHeader === false ? undefined : [servedByHeader, backend.name],
        routeId: route?.id ?? UNROUTED,
        setCookie,
        shadow,
        fallback: undefined,
        replay: undefined,
        started,
        breakers,
        metrics,
        logger,
        clientGone: false,
      };
      if (!fallback) return forward(exchange);
      // A replayable write is read whole first (it is within the limit), so it can be sent twice.
      void readBody(req, fallback.maxBodyBytes).then((body) => {
        exchange.fallback = { legacy: fallback.legacy, body };
        forward(exchange);
      }, () => req.socket.destroy());
    });
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const requestId = requestIdFor(req.headers);
    const target = normalizeRequestTarget(req.url ?? "/");
    if (!target.ok) {
      endSocketWithError(socket, "400 Bad Request", { code: "bad_request_target", message: target.reason, requestId });
      return;
    }
    const pathAndQuery = target.query === "" ? target.path : `${target.path}?${target.query}`;
    resolveDestination(state.current, decider, req, target.path, logger, ({ backend }) => {
      upgrades.upgrade(req, socket, head, backend, pathAndQuery, requestId);
    });
  }

  const server = createServer(
    {
      maxHeaderSize: options.maxHeaderSize ?? 16 * 1024,
      keepAliveTimeout: 65_000,
      headersTimeout: 30_000,
      requestTimeout: 0, // long uploads are bounded by idle timeouts, not a total
      requireHostHeader: true,
    },
    onRequest,
  );
  server.on("upgrade", onUpgrade);
  // Malformed requests (bad framing, conflicting Content-Length/Transfer-Encoding, oversized heads) are
  // refused by Node's parser before any routing; answer them plainly and close, never forward.
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || (socket as Duplex & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const status = error.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : "400 Bad Request";
    endSocketWithError(socket, status, { code: "malformed_request", message: error.code ?? "malformed request" });
  });
  server.on("close", () => upgrades.close());
  return server;
}
