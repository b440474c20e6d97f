/**
 * Lower-cased header names from a raw head's name Buffers, without a string made per name for the
 * common ones.
 *
 * Every answer's head comes from undici as Buffers. Made into a string and lower-cased, each name cost a
 * call into the Buffer binding, a new string, the lower-casing scan, and later a hash for every Set or
 * Map it is looked up in (callgrind: ~1,000 instructions a name, five or six names an answer, twice
 * for a shadowed one). The names backends send are few: those are matched here byte by byte against
 * their lower-cased constants, which come back interned (their hash already known). Any other name is
 * made the ordinary way.
 */

/** Response header names that backends commonly send (the first ones undici's own lookup tree holds). */
const COMMON = [
  "accept-ranges",
  "access-control-allow-credentials",
  "access-control-allow-headers",
  "access-control-allow-methods",
  "access-control-allow-origin",
  "access-control-expose-headers",
  "access-control-max-age",
  "age",
  "allow",
  "cache-control",
  "connection",
  "content-disposition",
  "content-encoding",
  "content-language",
  "content-length",
  "content-location",
  "content-range",
  "content-security-policy",
  "content-type",
  "date",
  "etag",
  "expires",
  "keep-alive",
  "last-modified",
  "link",
  "location",
  "pragma",
  "proxy-authenticate",
  "proxy-connection",
  "referrer-policy",
  "retry-after",
  "server",
  "set-cookie",
  "strict-transport-security",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "vary",
  "via",
  "www-authenticate",
  "x-content-type-options",
  "x-frame-options",
  "x-powered-by",
  "x-request-id",
  "x-xss-protection",
] as const;

/** The common names by length: a name is compared only with those of its own length. */
const BY_LENGTH: (readonly string[] | undefined)[] = [];
for (const name of COMMON) ((BY_LENGTH[name.length] ??= []) as string[]).push(name);

/**
 * Whether a raw name spells `lower` (lower-case ASCII letters, digits and '-') in any case: the one
 * case-folding rule for raw names, here for the common names and in RawHead for a field asked by name.
 * The length is compared first: most names differ there.
 */
export function spellsLowerCase(raw: Uint8Array, lower: string): boolean {
  if (raw.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let b = raw[i] as number;
    if (b >= 65 && b <= 90) b += 32; // only A–Z are folded: an upper-case letter is its lower-case one plus 32
    if (b !== lower.charCodeAt(i)) return false; // so `lower` itself must be lower-case to match
  }
  return true;
}

/** A raw header name, lower-cased: the interned constant for a common name, a new string otherwise. */
export function lowerCasedHeaderName(raw: Buffer): string {
  const candidates = BY_LENGTH[raw.length];
  // Stryker disable next-line ConditionalExpression: equivalent — skipping the common names sends every name the ordinary way
  if (candidates !== undefined) {
    for (const name of candidates) if (spellsLowerCase(raw, name)) return name;
  }
  return raw.toString("latin1").toLowerCase();
}
