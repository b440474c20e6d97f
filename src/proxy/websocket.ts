import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Duplex } from "node:stream";
import type { RepeatedEvents } from "../log/repeated-events.ts";
import type { ProxyMetrics } from "../metrics/proxy-metrics.ts";
import type { Backend } from "./backend-pool.ts";
import { clientResponseHeaders, headersForBackend } from "./headers.ts";
import { classifyUpstreamError, endSocketWithError } from "./upstream-error.ts";

/** Where one upgrade goes, decided by the same seam as every other request. */
export interface UpgradeTarget {
  readonly backend: Backend;
  /** The path and query sent (the route's rewrite already applied when the backend is its target). */
  readonly pathAndQuery: string;
  /** The Host sent in place of the destination's own (`rewrite.host: "client"`); undefined for its own. */
  readonly host: string | undefined;
  readonly requestId: string;
  readonly routeId: string;
  /** `[header, backend name]` to add to the 101, or undefined when turned off. */
  readonly servedBy: readonly [string, string] | undefined;
  /** A sticky id cookie the proxy issues on the 101, when the client had no key. */
  readonly setCookie: string | undefined;
}

/** Proxies WebSocket upgrades to a backend, with the headers, routing and metrics of ordinary requests. */
export interface UpgradeProxy {
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: UpgradeTarget): void;
  /** Cuts every open WebSocket (shutdown). */
  close(): void;
}

/** True for a WebSocket handshake (RFC 6455 §4.1): a GET asking to upgrade to `websocket`. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  if (req.method !== "GET") return false;
  const upgrade = req.headers.upgrade;
  return typeof upgrade === "string" && upgrade.split(",").some((p) => p.trim().toLowerCase() === "websocket");
}

/** A response head as raw HTTP/1.1. */
function head(status: number, reason: string, headers: OutgoingHttpHeaders): string {
  let text = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) text += `${name}: ${String(v)}\r\n`;
  }
  return `${text}\r\n`;
}

/** The backend's response headers for the client, as on the ordinary path, plus what the handshake needs. */
function handshakeHeaders(upstream: IncomingHttpHeaders, target: UpgradeTarget): OutgoingHttpHeaders {
  const out = clientResponseHeaders(upstream, target.requestId, target.servedBy, target.setCookie);
  out.connection = "Upgrade";
  if (upstream.upgrade !== undefined) out.upgrade = upstream.upgrade;
  return out;
}

/**
 * Forwards a WebSocket handshake with the same header rules as any request (hop-by-hop, `Connection`-named,
 * `Proxy-*` and forced-routing headers removed; `X-Forwarded-*` and `x-request-id` set), then joins the
 * two sockets. A backend that declines the upgrade has its answer passed through; one that fails or does
 * not answer within `responseTimeoutMs` gives the client a 502 or 504 JSON answer.
 */
export function createUpgradeProxy(deps: { readonly metrics: ProxyMetrics; readonly events: RepeatedEvents }): UpgradeProxy {
  const open = new Set<Duplex>();
  const track = (socket: Duplex) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
  };

  return {
    upgrade(req, socket, bodyHead, target) {
      const { backend } = target;
      socket.on("error", () => socket.destroy());
      track(socket);
      // A WebSocket is balanced like a request (its breaker is not fed: a long-lived socket's end says little).
      const destination = backend.destinations.pickAny();
      const headers = headersForBackend(req, target.requestId, target.host ?? destination.host);
      headers.push("connection", "Upgrade", "upgrade", req.headers.upgrade as string);
      const url = new URL(destination.origin);
      const https = url.protocol === "https:";
      const upstream = (https ? httpsRequest : httpRequest)({
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port || (https ? 443 : 80),
        // A resolved address is connected to; the certificate is checked against the configured name.
        ...(https && destination.address !== undefined ? { servername: new URL(destination.url).hostname } : {}),
        method: "GET",
        path: backend.basePath + target.pathAndQuery,
        headers,
        agent: false, // a WebSocket holds its connection for good: never one from a keep-alive pool
      });
      let settled = false;
      const settle = () => {
        settled = true;
        clearTimeout(timer);
      };
      const timer = setTimeout(() => upstream.destroy(Object.assign(new Error("no handshake answer in time"), { code: "UND_ERR_HEADERS_TIMEOUT" })), backend.config.responseTimeoutMs);
      socket.once("close", () => {
        if (!settled) upstream.destroy(); // the client left during the handshake
      });

      upstream.on("upgrade", (res, upSocket, upHead) => {
        settle();
        track(upSocket);
        deps.metrics.upgrade(target.routeId, backend.name, "upgraded");
        upSocket.on("error", () => upSocket.destroy());
        socket.write(head(101, "Switching Protocols", handshakeHeaders(res.headers, target)));
        if (upHead.length > 0) socket.write(upHead);
        if (bodyHead.length > 0) upSocket.write(bodyHead);
        upSocket.pipe(socket);
        socket.pipe(upSocket);
        upSocket.once("close", () => socket.destroy());
        socket.once("close", () => upSocket.destroy());
      });
      upstream.on("response", (res) => {
        // The backend declined the upgrade (401, 404, 426…): the client gets that answer as it is.
        settle();
        deps.metrics.upgrade(target.routeId, backend.name, "declined");
        const out = clientResponseHeaders(res.headers, target.requestId, target.servedBy, target.setCookie);
        delete out["content-length"]; // the body is passed on as it comes, delimited by the close
        out.connection = "close";
        socket.write(head(res.statusCode ?? 502, res.statusMessage ?? "", out));
        res.pipe(socket);
        res.on("error", () => socket.destroy());
      });
      upstream.on("error", (error) => {
        if (settled) return;
        settle();
        const failure = classifyUpstreamError(error, backend.name);
        deps.metrics.upgrade(target.routeId, backend.name, "error");
        deps.events.warn(`ws\u0000${target.routeId}\u0000${backend.name}\u0000${failure.code}`, { requestId: target.requestId, route: target.routeId, backend: backend.name, code: failure.code, err: error.message }, "websocket upstream failure");
        if (socket.writable && !socket.destroyed) {
          endSocketWithError(socket, failure.status === 504 ? "504 Gateway Timeout" : "502 Bad Gateway", { code: failure.code, message: failure.message, requestId: target.requestId });
        } else {
          socket.destroy();
        }
      });
      upstream.end();
    },
    close() {
      for (const socket of open) socket.destroy();
      open.clear();
    },
  };
}
