import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { peerOf, isEncrypted } from "./connection.ts";
import { NO_TRUSTED_PROXIES, unmapped, type TrustedProxies } from "./trusted-proxies.ts";

/** The protocol a request arrived in, as the access log and spans name it. */
export type ClientProtocol = "HTTP/1.0" | "HTTP/1.1" | "HTTP/2";

/**
 * Who sent a request, resolved once by the edge from the socket (or a PROXY protocol header) and, from a
 * trusted peer, its `X-Forwarded-*` headers. Everything that names a client reads this, never the socket.
 */
export interface ResolvedClient {
  /** The client's address: the rightmost untrusted hop of a trusted peer's chain, or the peer itself. */
  readonly address: string;
  /** `https` when the client's connection was encrypted, here or at a trusted balancer. */
  readonly scheme: "http" | "https";
  /** The host the client asked for: a trusted peer's `X-Forwarded-Host`, else the request's own. */
  readonly host: string | undefined;
  /** What the backend is sent as `X-Forwarded-For`: the chain from the client on, ending with the peer. */
  readonly forwardedFor: string;
  readonly protocol: ClientProtocol;
}

const RESOLVED = Symbol("strangler.client");
type RequestWithClient = IncomingMessage & { [RESOLVED]?: ResolvedClient };

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}

function protocolOf(req: IncomingMessage): ClientProtocol {
  if (req.httpVersionMajor === 2) return "HTTP/2";
  return req.httpVersionMinor === 0 ? "HTTP/1.0" : "HTTP/1.1";
}

/** An `X-Forwarded-For` hop as written by balancers: trimmed, its port or IPv6 brackets dropped. */
function hopAddress(hop: string): string | undefined {
  let text = hop.trim();
  if (text.startsWith("[")) text = text.slice(1, text.indexOf("]") === -1 ? undefined : text.indexOf("]"));
  else if (text.indexOf(":") !== -1 && text.indexOf(":") === text.lastIndexOf(":")) text = text.slice(0, text.indexOf(":")); // IPv4:port
  return isIP(text) === 0 ? undefined : unmapped(text);
}

/**
 * Resolves the client of a request. From a peer not in `trusted` (every peer by default) the request's
 * `X-Forwarded-*` are ignored: the client is the peer and the scheme the connection's. From a trusted
 * peer, `X-Forwarded-For` is read right to left past the trusted hops to the first untrusted address
 * (a hop that is not an address ends the walk: the client is then the last address read), and `X-Forwarded-Proto` and
 * `X-Forwarded-Host` are kept.
 */
export function resolveClient(req: IncomingMessage, trusted: TrustedProxies): ResolvedClient {
  const peer = peerOf(req.socket);
  const ownScheme = isEncrypted(req.socket) ? "https" : "http";
  const protocol = protocolOf(req);
  const headers = req.headers;
  if (trusted.none || !trusted.has(peer)) {
    return { address: peer, scheme: ownScheme, host: headers.host, forwardedFor: peer, protocol };
  }
  const chain = single(headers["x-forwarded-for"]);
  const hops = chain ? chain.split(",").map(hopAddress) : [];
  // Walk from the peer towards the client; the first untrusted hop is the client. A hop that is not an
  // address stops the walk: the client is then the last address read (never text a client could write).
  let client = -1;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (hop === undefined) break;
    client = i;
    if (!trusted.has(hop)) break;
  }
  // The hops left of the client are the client's own word: not forwarded.
  const kept = client === -1 ? [] : (hops.slice(client) as string[]);
  kept.push(peer);
  const proto = single(headers["x-forwarded-proto"])?.split(",")[0]?.trim().toLowerCase();
  const scheme = proto === "https" || proto === "http" ? proto : ownScheme;
  const forwardedHost = single(headers["x-forwarded-host"])?.split(",")[0]?.trim();
  return { address: kept[0] as string, scheme, host: forwardedHost || headers.host, forwardedFor: kept.join(", "), protocol };
}

/** Remembers the request's resolved client (the data plane does this once, before routing). */
export function setClient(req: IncomingMessage, client: ResolvedClient): void {
  (req as RequestWithClient)[RESOLVED] = client;
}

/** The request's resolved client; one resolved with no trusted peer when the data plane did not set it. */
export function clientOf(req: IncomingMessage): ResolvedClient {
  const set = (req as RequestWithClient)[RESOLVED];
  if (set) return set;
  const client = resolveClient(req, NO_TRUSTED_PROXIES);
  (req as RequestWithClient)[RESOLVED] = client;
  return client;
}
