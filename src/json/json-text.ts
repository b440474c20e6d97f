/**
 * A string as JSON writes it (`JSON.stringify(text)`), without the call when it is short and holds nothing
 * to escape: no quote, backslash, control character or surrogate. The call costs about a thousand
 * instructions under callgrind, the scan of a short string a few per character; the hot paths that write
 * JSON by hand (the access log, the comparer's canonical forms) write short plain strings nearly always.
 */
export function jsonString(text: string): string {
  if (text.length > 64) return JSON.stringify(text);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/** A number as JSON writes it: itself when finite, `null` otherwise. */
export function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : "null";
}

/**
 * `jsonNumber(Math.round(ms * 1000) / 1000)`: a duration in ms to the microsecond, written from its integer
 * microseconds. The same text (the shortest decimal of k / 1000 is k's digits with the point put in and
 * trailing zeros dropped), without V8's double-to-text conversion (about 1.5k instructions a number); the
 * integers it writes instead come from V8's number-string cache. Past 2^53 µs it defers to the general path.
 */
export function jsonMilliseconds(ms: number): string {
  const us = Math.round(ms * 1000);
  if (!(us >= 0 && us <= Number.MAX_SAFE_INTEGER)) return jsonNumber(us / 1000);
  const whole = Math.floor(us / 1000);
  let fraction = us - whole * 1000;
  if (fraction === 0) return String(whole);
  let digits = 3;
  while (fraction % 10 === 0) {
    fraction /= 10;
    digits--;
  }
  const text = String(fraction);
  return `${whole}.${text.length < digits ? "0".repeat(digits - text.length) + text : text}`;
}
