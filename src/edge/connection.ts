import { unmapped } from "./trusted-proxies.ts";

/**
 * What the edge knows of a client connection before any request on it: who connected (the socket's
 * peer, or a PROXY protocol header's source), whether it is encrypted here, and whether it is past
 * `server.maxConnections`. Set on the socket object the HTTP server sees (a TCP socket, a TLS socket,
 * or HTTP/2's wrapper of one), so a request finds it at `req.socket`, through HTTP/2's socket proxy too.
 */
export interface ConnectionFacts {
  readonly peer: string;
  readonly encrypted: boolean;
  overCapacity: boolean;
}

const FACTS = Symbol.for("strangler.connection");
type WithFacts = { [FACTS]?: ConnectionFacts; readonly remoteAddress?: string | undefined; readonly encrypted?: boolean };

/** Attaches the facts of a connection to the socket object a server will see. */
export function setConnectionFacts(socket: object, facts: ConnectionFacts): void {
  (socket as WithFacts)[FACTS] = facts;
}

/** The facts the edge attached, if the connection came through it. */
export function connectionFacts(socket: object): ConnectionFacts | undefined {
  return (socket as WithFacts)[FACTS];
}

/** The peer of a connection: the edge's word for it (a PROXY header's source), else the socket's. */
export function peerOf(socket: object): string {
  const s = socket as WithFacts;
  return s[FACTS]?.peer ?? unmapped(s.remoteAddress ?? "unknown");
}

/** Whether the client's connection is encrypted at this proxy. */
export function isEncrypted(socket: object): boolean {
  const s = socket as WithFacts;
  return s[FACTS]?.encrypted ?? s.encrypted === true;
}
