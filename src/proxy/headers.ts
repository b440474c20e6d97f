import { Buffer } from "node:buffer";
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { clientOf } from "../edge/client.ts";
import { lowerCasedHeaderName } from "./header-names.ts";

/** Headers that describe one connection, never forwarded either way (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * Which name lengths a hop-by-hop header has: a name of another length (most of an answer's: content-type,
 * content-length, date) is known not to be one without a lookup in the set.
 */
const HOP_BY_HOP_LENGTHS = new Uint8Array(32);
for (const name of HOP_BY_HOP) HOP_BY_HOP_LENGTHS[name.length] = 1;

/** Headers the proxy sets itself on the way up. `expect` is answered by the proxy (100-continue). */
const SET_BY_PROXY = new Set([
  // Stryker disable next-line StringLiteral: equivalent — set after the copy, whatever the client sent
  "host",
  // Stryker disable next-line StringLiteral: equivalent — set after the copy, whatever the client sent
  "x-forwarded-for",
  // Stryker disable next-line StringLiteral: equivalent — set after the copy, whatever the client sent
  "x-forwarded-proto",
  "x-forwarded-host",
  // Stryker disable next-line StringLiteral: equivalent — set after the copy, whatever the client sent
  "x-request-id",
  "expect",
  // Forced routing is between the client and the proxy: the secret never reaches a backend.
  "x-strangler-force",
  "x-strangler-force-secret",
  // The proxy's own mark of a retry (forward.ts): a client's would tell a backend a retry that is not one.
  "x-strangler-attempt",
]);

/** Headers dropped on the way up: one lookup per header instead of two. */
const DROPPED_UPSTREAM = new Set([...HOP_BY_HOP, ...SET_BY_PROXY]);

/** Names listed in a `Connection` header, which are hop-by-hop for this message too. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  // The commonest value by far (every keep-alive backend sends it) names nothing to strip: no arrays, no set.
  // Stryker disable next-line all: equivalent — the general path below returns undefined for it as well
  if (typeof value === "string" && value.length === 10 && (value === "keep-alive" || value.toLowerCase() === "keep-alive")) return undefined;
  const joined = Array.isArray(value) ? value.join(",") : value;
  // RFC 9110 §7.6.1: every field a connection option names goes, "close" included. The filter and the
  // size test only spare a set for the commonest value.
  // Stryker disable next-line all: equivalent — keep-alive is hop-by-hop already and an empty name matches no field
  const tokens = joined.split(",").map((t) => t.trim().toLowerCase()).filter((t) => t !== "" && t !== "keep-alive");
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent — an empty set strips nothing
  return tokens.length > 0 ? new Set(tokens) : undefined;
}

export interface ForwardedFor {
  /** The whole `X-Forwarded-For` to send: the resolved client's chain (see edge/client.ts), never the client's own. */
  readonly forwardedFor: string;
  readonly proto: "http" | "https";
  readonly host: string | undefined;
  readonly requestId: string;
  readonly upstreamHost: string;
}

/**
 * The headers sent to the backend, as a flat `[name, value, name, value, …]` list (the form undici and
 * `http.request` both take): the client's, less hop-by-hop ones and HTTP/2's pseudo-headers
 * (`:authority` is the `X-Forwarded-Host`), plus X-Forwarded-* and the request id. A list rather than an
 * object: building an object by name and undici reading it back by name were megamorphic keyed stores
 * and loads on every exchange (twice for a shadowed request), where a list is appended and walked.
 */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, info: ForwardedFor): string[] {
  const extra = connectionTokens(incoming.connection);
  const out: string[] = [];
  for (const name in incoming) {
    // 58 is ':': a pseudo-header of HTTP/2 (`:method`, `:path`, `:authority`, `:scheme`) is not a field.
    if (DROPPED_UPSTREAM.has(name) || extra?.has(name) || name.charCodeAt(0) === 58) continue;
    const value = incoming[name];
    if (typeof value === "string") out.push(name, value);
    else if (value !== undefined) for (const one of value) out.push(name, one); // set-cookie: one line each
  }
  out.push("host", info.upstreamHost, "x-forwarded-for", info.forwardedFor, "x-forwarded-proto", info.proto);
  if (info.host !== undefined) out.push("x-forwarded-host", info.host);
  out.push("x-request-id", info.requestId);
  return out;
}

/**
 * `upstreamRequestHeaders` for a client request: its resolved client's chain, scheme and host (from a
 * trusted peer's `X-Forwarded-*`, else the connection's own), as every path forwards them.
 */
export function headersForBackend(req: IncomingMessage, requestId: string, upstreamHost: string): string[] {
  const client = clientOf(req);
  return upstreamRequestHeaders(req.headers, { forwardedFor: client.forwardedFor, proto: client.scheme, host: client.host, requestId, upstreamHost });
}

/**
 * A copy of `upstreamRequestHeaders`' list for another backend: the same fields with `host` as its Host.
 * A shadowed request goes to two or three backends; a copy costs a fraction of building the list again.
 */
export function upstreamHeadersFor(list: readonly string[], host: string): string[] {
  const copy = list.slice();
  // The proxy's own fields are last and the client's Host is never copied: the scan from the end finds ours at once.
  for (let i = copy.length - 2; i >= 0; i -= 2) {
    if (copy[i] === "host") {
      copy[i + 1] = host;
      return copy;
    }
  }
  copy.push("host", host);
  return copy;
}

/** The headers sent back to the client: the backend's, less hop-by-hop ones, plus the proxy's own. */
export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  requestId: string,
  servedBy: readonly [header: string, backend: string] | undefined,
  setCookie?: string,
): OutgoingHttpHeaders {
  const extra = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    if (HOP_BY_HOP.has(name) || extra?.has(name)) continue;
    const value = upstream[name];
    if (value !== undefined) out[name] = value;
  }
  out["x-request-id"] = requestId;
  if (servedBy) out[servedBy[0]] = servedBy[1];
  if (setCookie !== undefined) {
    const existing = out["set-cookie"];
    out["set-cookie"] = existing === undefined ? [setCookie] : [...(Array.isArray(existing) ? existing : [String(existing)]), setCookie];
  }
  return out;
}

/** The served-by header's name, lower-cased once per configured name rather than once per answer. */
let servedByConfigured: string | undefined;
let servedByLowerCased = "";
function lowerCasedServedBy(name: string): string {
  if (name !== servedByConfigured) {
    servedByConfigured = name;
    servedByLowerCased = name.toLowerCase();
  }
  return servedByLowerCased;
}

/** The client's response head, from the backend's raw head: writeHead's flat name/value list, and its Content-Length. */
export interface ClientHead {
  /** `[name, value, name, value, …]`, names lower-cased, as `res.writeHead` takes them (repeated names kept apart). */
  readonly headers: string[];
  readonly contentLength: string | undefined;
}

/**
 * `clientResponseHeaders` from undici's raw head (name and value Buffers, in order), without building the
 * parsed object first: the names lower-cased, hop-by-hop ones and those the proxy sets itself dropped, and
 * the proxy's own added. `names` and `values`, when given, receive every field's lower-cased name and its
 * value, one per pair in order (a shadowed answer's head is kept raw for its comparison, and reads these
 * rather than making them again: see RawHead).
 */
export function clientResponseHead(
  raw: readonly Buffer[],
  requestId: string,
  servedBy: readonly [header: string, backend: string] | undefined,
  setCookie: string | undefined,
  names?: string[],
  values?: string[],
): ClientHead {
  const headers: string[] = [];
  const servedByName = servedBy === undefined ? undefined : lowerCasedServedBy(servedBy[0]);
  let connection: string | undefined;
  let contentLength: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = lowerCasedHeaderName(raw[i] as Buffer);
    const value = (raw[i + 1] as Buffer).toString("latin1");
    if (names) names.push(name);
    if (values) values.push(value);
    if (HOP_BY_HOP_LENGTHS[name.length] === 1 && HOP_BY_HOP.has(name)) {
      if (name === "connection") connection = connection === undefined ? value : `${connection},${value}`;
      continue;
    }
    // Set below, once: the backend's own would be a second value.
    if (name === "x-request-id" || name === servedByName) continue;
    if (name === "content-length") contentLength = value;
    headers.push(name, value);
  }
  const extra = connectionTokens(connection);
  const kept = extra ? headers.filter((_, i) => (i % 2 === 0 ? !extra.has(headers[i] as string) : !extra.has(headers[i - 1] as string))) : headers;
  kept.push("x-request-id", requestId);
  if (servedBy) kept.push(servedBy[0], servedBy[1]);
  if (setCookie !== undefined) kept.push("set-cookie", setCookie);
  return { headers: kept, contentLength };
}
