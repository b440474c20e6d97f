/**
 * Reads a request target the one way a backend will: the path the proxy matches is the path it forwards.
 *
 * - percent-encoded unreserved characters (ALPHA DIGIT - . _ ~) are decoded, other escapes are kept
 *   with upper-case hex, so `/api/%70roducts` and `/api/products` are one path;
 * - dot-segments are resolved (RFC 3986 §5.2.4) after that decoding, so `/%2e%2e/` is `/../`;
 * - a target that different backends would read differently is refused: an encoded slash or backslash,
 *   a raw backslash, a NUL, invalid escapes, dot-segments that climb above the root, a fragment, or
 *   characters outside visible ASCII.
 * The query string is passed through untouched.
 */
export type NormalizedTarget =
  | { readonly ok: true; readonly path: string; readonly query: string }
  | { readonly ok: false; readonly reason: string };

const HEX = "0123456789ABCDEF";

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

function isUnreserved(code: number): boolean {
  return (
    (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || (code >= 48 && code <= 57) ||
    code === 45 || code === 46 || code === 95 || code === 126
  );
}

function fail(reason: string): NormalizedTarget {
  return { ok: false, reason };
}

/** Strips `http://host` from an absolute-form target, which HTTP/1.1 servers must accept. */
function originForm(target: string): string | undefined {
  if (target.startsWith("/")) return target;
  const match = /^https?:\/\/[^/?#]*/i.exec(target);
  if (!match) return undefined;
  const rest = target.slice(match[0].length);
  return rest === "" || rest.startsWith("?") ? `/${rest}` : rest;
}

function decodePath(raw: string): string | NormalizedTarget {
  // Fast path: nothing to decode and nothing suspicious. The scan only picks the way; the slow way below
  // decides alone, and the tests of %, \, #, space, controls, DEL and non-ASCII pin that none slips past.
  // Stryker disable next-line BooleanLiteral: equivalent — always taking the slow way gives the same answers
  let clean = true;
  // Stryker disable next-line EqualityOperator: equivalent — charCodeAt past the end is NaN, which flags nothing
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a wider test only sends more paths the slow way; the narrower ones are killed by the tests above
    if (c === 37 /* % */ || c === 92 /* \ */ || c <= 32 || c >= 127 || c === 35 /* # */) {
      clean = false;
      break;
    }
  }
  // Stryker disable next-line ConditionalExpression: equivalent — the slow way returns a clean path unchanged
  if (clean) return raw;
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 37) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return fail(`invalid percent-encoding at offset ${i}`);
      const value = hi * 16 + lo;
      if (value === 0) return fail("encoded NUL in path");
      if (value === 0x2f || value === 0x5c) return fail("encoded slash or backslash in path");
      out += isUnreserved(value) ? String.fromCharCode(value) : `%${HEX[hi]}${HEX[lo]}`;
      i += 2;
    } else if (c === 92) {
      return fail("backslash in path");
    } else if (c === 35) {
      return fail("fragment in request target");
    } else if (c <= 32 || c >= 127) {
      return fail("control, space or non-ASCII character in path");
    } else {
      out += raw[i];
    }
  }
  return out;
}

function resolveDotSegments(path: string): string | undefined {
  // Stryker disable next-line ConditionalExpression,StringLiteral: a fast path — resolving a path with no dot-segment gives it back unchanged
  if (!path.includes(".")) return path;
  const segments = path.slice(1).split("/");
  // Stryker disable next-line all: a fast path — resolving a path with no dot-segment gives it back unchanged
  if (!segments.some((s) => s === "." || s === "..")) return path;
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    if (segment === "." || segment === "..") {
      if (segment === "..") {
        if (out.length === 0) return undefined;
        out.pop();
      }
      if (last) out.push("");
    } else {
      out.push(segment);
    }
  }
  return `/${out.join("/")}`;
}

/** Normalises a raw request target (`req.url`). */
export function normalizeRequestTarget(target: string): NormalizedTarget {
  const origin = originForm(target);
  if (origin === undefined) return fail("request target must be a path starting with \"/\"");
  const q = origin.indexOf("?");
  const rawPath = q === -1 ? origin : origin.slice(0, q);
  const query = q === -1 ? "" : origin.slice(q + 1);
  if (query.includes("#")) return fail("fragment in request target");
  const decoded = decodePath(rawPath);
  if (typeof decoded !== "string") return decoded;
  const path = resolveDotSegments(decoded);
  if (path === undefined) return fail("dot-segments climb above the root");
  return { ok: true, path, query };
}
