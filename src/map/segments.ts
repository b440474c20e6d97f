/**
 * Whether a path segment names one thing among many (an id) rather than an endpoint: such segments
 * become `:param` in the traffic map's templates, so the map holds a row per endpoint, never per id.
 * The rules look only at the segment; a position that sees too many distinct literals is collapsed
 * by the trie as well (template-trie.ts).
 */
const DIGITS = /^\d+$/;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const HEX = /^[0-9a-f]{8,}$/i;
const HAS_DIGIT = /\d/;
const HAS_LETTER = /[A-Za-z]/;
/** Tokens: base64/base64url-ish, long, mixing letters and digits. */
const TOKEN = /^[A-Za-z0-9_=+-]{16,}$/;
/** A prefix and a number: `p_001`, `ord_seed_042`, `sku-1234`, `INV-2024-17`. */
const PREFIXED = /^[A-Za-z]{1,16}(?:[_-][A-Za-z0-9]+)*[_-]\d+$/;
/** Longer than any endpoint name: a slug, a key, an encoded value. */
const MAX_LITERAL_LENGTH = 64;

export function isIdentifierLike(segment: string): boolean {
  if (segment.length > MAX_LITERAL_LENGTH) return true;
  // A segment written as a parameter (a template read back from the store, or an odd request).
  if (segment.startsWith(":")) return true;
  if (DIGITS.test(segment)) return true;
  if (UUID.test(segment)) return true;
  if (HEX.test(segment) && HAS_DIGIT.test(segment)) return true;
  if (TOKEN.test(segment) && HAS_DIGIT.test(segment) && HAS_LETTER.test(segment)) return true;
  return PREFIXED.test(segment);
}
