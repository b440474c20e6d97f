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
