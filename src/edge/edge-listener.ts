import { Buffer } from "node:buffer";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { Server as HttpServer } from "node:http";
import type { Http2Server, ServerHttp2Session } from "node:http2";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { CertificateSet } from "./certificates.ts";
import { connectionFacts, setConnectionFacts, type ConnectionFacts } from "./connection.ts";
import { parseProxyHeader, V2_MAX } from "./proxy-protocol.ts";
import { replayingSocket } from "./replaying-socket.ts";
import { unmapped, type TrustedProxies } from "./trusted-proxies.ts";

/** The HTTP/2 client connection preface starts with these bytes (RFC 9113 §3.4). */
const H2_PREFACE_START = Buffer.from("PRI ", "latin1");

/** Why the edge closed a connection before any HTTP: a fixed set, used as a label value. */
export type EdgeRefusal = "proxy_protocol_invalid" | "tls_handshake_failed" | "first_bytes_timeout";

export interface EdgeEvents {
  refused(reason: EdgeRefusal): void;
  /** A connection handed to an HTTP server, by protocol (`http/1.1`, `h2` over TLS, `h2c`). */
  connection(protocol: "http/1.1" | "h2" | "h2c"): void;
}

export interface EdgeTls {
  readonly certificates: CertificateSet;
  readonly handshakeTimeoutMs: number;
}

export interface EdgeListenerOptions {
  /** `data` or `admin`: how logs name it. */
  readonly name: string;
  /** Serves HTTP/1.x connections (plain, or TLS without h2 by ALPN). */
  readonly http1: HttpServer;
  /** Serves HTTP/2 connections: TLS with h2 by ALPN, and h2c with prior knowledge; none when HTTP/2 is off. */
  readonly http2?: Http2Server | undefined;
  /** Terminate TLS with these certificates; plain TCP when absent. */
  readonly tls?: EdgeTls | undefined;
  /** On a plain listener, serve a connection that starts with the HTTP/2 preface as h2c. */
  readonly h2c: boolean;
  /** Read a PROXY protocol v1/v2 header from trusted peers. */
  readonly proxyProtocol: boolean;
  readonly trusted: () => TrustedProxies;
  /** Connections beyond this many are marked, and their requests answered 503 (see the data plane). */
  readonly maxConnections: () => number;
  /** Longest wait for the bytes that decide how to serve a connection (a PROXY header, h2c's preface). */
  readonly firstBytesTimeoutMs: () => number;
  readonly events: EdgeEvents;
  readonly logger: Logger;
}

/** A listener of the edge: the TCP server to listen on, its certificates, and its orderly close. */
export interface EdgeListener {
  readonly server: NetServer;
  /** Open client connections (TCP), of every protocol. */
  connections(): number;
  /** New handshakes use `set` from now on; connections already open keep theirs. */
  setCertificates(set: CertificateSet): void;
  /**
   * Stops accepting; lets requests in flight finish for up to `graceMs` (HTTP/2 sessions are sent
   * GOAWAY, idle HTTP/1.1 connections closed), then cuts what is left.
   */
  close(graceMs: number): Promise<void>;
}

/**
 * Node sets up the checks of `headersTimeout` and `requestTimeout` (and tracks connections for
 * `closeIdleConnections`) when an HTTP server emits `listening` (lib/_http_server.js). The HTTP servers
 * here never listen themselves: the edge hands them connections. So the edge says it for them, once.
 */
function servesHandedConnections(server: HttpServer): void {
  server.emit("listening");
}

/**
 * Reads the first bytes of a connection until `decide` has what it needs; the socket is left paused,
 * with nothing unread lost (the caller puts what was read back or replays it).
 */
function readFirstBytes(socket: Socket, timeoutMs: number, enough: (bytes: Buffer) => boolean, done: (bytes: Buffer | undefined) => void): void {
  let bytes: Buffer = Buffer.alloc(0);
  const finish = (result: Buffer | undefined) => {
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("close", onClose);
    socket.pause();
    done(result);
  };
  const onData = (chunk: Buffer) => {
    bytes = bytes.length === 0 ? chunk : Buffer.concat([bytes, chunk]);
    if (enough(bytes)) finish(bytes);
  };
  const onClose = () => finish(undefined);
  const timer = setTimeout(() => finish(undefined), timeoutMs);
  socket.on("data", onData);
  socket.once("close", onClose);
}

/**
 * Creates a listener of the edge, the layer in front of the data plane (and, with TLS, the admin API):
 * it accepts TCP connections and hands each to the HTTP server that speaks its protocol, with the
 * facts the request path needs (the client's peer, encryption, capacity) attached to its socket:
 *
 * 1. a PROXY protocol header, from a trusted peer when `proxyProtocol` is on: its source becomes the peer;
 * 2. TLS, when configured: the certificate by SNI, then h2 or HTTP/1.1 by ALPN;
 * 3. on a plain listener with `h2c`, a connection that starts with HTTP/2's preface goes to HTTP/2;
 * 4. everything else to the HTTP/1.1 server, as before the edge existed.
 */
export function createEdgeListener(options: EdgeListenerOptions): EdgeListener {
  const { http1, http2, events, logger } = options;
  servesHandedConnections(http1);
  const sockets = new Set<Socket>();
  const sessions = new Set<ServerHttp2Session>();
  /** The facts of the connection being handed to the HTTP/2 server right now (its `session` event is synchronous). */
  let handing: ConnectionFacts | undefined;

  http2?.on("session", (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (handing) setConnectionFacts(session.socket, handing);
  });

  function toHttp2(socket: TLSSocket | ReturnType<typeof replayingSocket>, facts: ConnectionFacts, protocol: "h2" | "h2c"): void {
    events.connection(protocol);
    handing = facts;
    try {
      http2?.emit("connection", socket);
    } finally {
      handing = undefined;
    }
  }

  function toHttp1(socket: Socket, facts: ConnectionFacts): void {
    events.connection("http/1.1");
    setConnectionFacts(socket, facts);
    http1.emit("connection", socket);
  }

  const tlsServer = options.tls
    ? createTlsServer({
        ALPNProtocols: http2 ? ["h2", "http/1.1"] : ["http/1.1"],
        handshakeTimeout: options.tls.handshakeTimeoutMs,
        SNICallback: (servername, callback) => callback(null, certificates?.select(servername).context),
      })
    : undefined;
  let certificates = options.tls?.certificates;
  // The default context answers clients that send no SNI (an IP address in the URL) or a name none covers.
  const useDefault = (set: CertificateSet) => tlsServer?.setSecureContext({ ...set.fallback.contextOptions });
  if (certificates) useDefault(certificates);
  tlsServer?.on("secureConnection", (socket: TLSSocket) => {
    // The TLS socket wraps the TCP one (`_parent`, set by Node's TLS server since its first versions).
    const parent = (socket as TLSSocket & { _parent?: Socket })._parent;
    const outer = parent ? connectionFacts(parent) : undefined;
    const facts: ConnectionFacts = { peer: outer?.peer ?? unmapped(socket.remoteAddress ?? "unknown"), encrypted: true, overCapacity: outer?.overCapacity ?? false };
    setConnectionFacts(socket, facts);
    if (socket.alpnProtocol === "h2" && http2) toHttp2(socket, facts, "h2");
    else toHttp1(socket, facts);
  });
  tlsServer?.on("tlsClientError", (error: NodeJS.ErrnoException, socket: TLSSocket) => {
    events.refused("tls_handshake_failed");
    logger.debug({ listener: options.name, err: error.message, code: error.code }, "TLS handshake failed");
    socket.destroy();
  });

  /** Serves a connection whose PROXY header (if any) is read; `early` holds bytes read past it. */
  function serve(socket: Socket, facts: ConnectionFacts, early: Buffer | undefined): void {
    if (tlsServer) {
      setConnectionFacts(socket, facts);
      if (early && early.length > 0) socket.unshift(early); // Node's TLS socket reads what is buffered first
      tlsServer.emit("connection", socket);
      return;
    }
    if (!options.h2c || !http2) {
      if (early && early.length > 0) socket.unshift(early);
      toHttp1(socket, facts);
      socket.resume();
      return;
    }
    const decide = (bytes: Buffer | undefined) => {
      if (!bytes) {
        if (!socket.destroyed) events.refused("first_bytes_timeout");
        return void socket.destroy();
      }
      if (bytes.subarray(0, H2_PREFACE_START.length).equals(H2_PREFACE_START)) return toHttp2(replayingSocket(socket, bytes), facts, "h2c");
      socket.unshift(bytes);
      toHttp1(socket, facts);
      socket.resume();
    };
    const had = early ?? Buffer.alloc(0);
    if (had.length >= H2_PREFACE_START.length) return decide(had);
    readFirstBytes(socket, options.firstBytesTimeoutMs(), (bytes) => had.length + bytes.length >= H2_PREFACE_START.length, (bytes) => decide(bytes ? Buffer.concat([had, bytes]) : undefined));
  }

  const server = createNetServer({ pauseOnConnect: false }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => undefined); // a reset client: its server reports nothing of use
    const peer = unmapped(socket.remoteAddress ?? "unknown");
    const facts: ConnectionFacts = { peer, encrypted: false, overCapacity: sockets.size > options.maxConnections() };
    if (!options.proxyProtocol || !options.trusted().has(peer)) return serve(socket, facts, undefined);
    readFirstBytes(socket, options.firstBytesTimeoutMs(), (bytes) => parseProxyHeader(bytes).kind !== "incomplete" || bytes.length > V2_MAX, (bytes) => {
      if (!bytes) {
        if (!socket.destroyed) events.refused("first_bytes_timeout");
        return void socket.destroy();
      }
      const header = parseProxyHeader(bytes);
      if (header.kind === "invalid" || header.kind === "incomplete") {
        events.refused("proxy_protocol_invalid");
        logger.warn({ listener: options.name, peer, reason: header.kind === "invalid" ? header.reason : "too long" }, "PROXY protocol header refused");
        return void socket.destroy();
      }
      if (header.kind === "absent") return serve(socket, facts, bytes); // a trusted peer may also connect directly
      serve(socket, { ...facts, peer: header.source === undefined ? peer : unmapped(header.source) }, bytes.subarray(header.length));
    });
  });

  return {
    server,
    connections: () => sockets.size,
    setCertificates(set) {
      certificates = set;
      useDefault(set);
    },
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      http1.closeIdleConnections();
      for (const session of sessions) session.close(); // GOAWAY: streams under way finish, no new ones
      const timer = setTimeout(() => {
        http1.closeAllConnections();
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      // Connections that finish their last request during the grace period are closed as they go idle.
      const idle = setInterval(() => http1.closeIdleConnections(), 100);
      await closed;
      clearTimeout(timer);
      clearInterval(idle);
      await Promise.all([new Promise<void>((resolve) => http1.close(() => resolve())), http2 ? new Promise<void>((resolve) => http2.close(() => resolve())) : undefined]);
    },
  };
}
