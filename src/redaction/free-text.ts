/**
 * Secrets found in free text, wherever they sit: a header value, a query value, a string inside JSON, a
 * plain-text or HTML body. Names cannot be trusted there, so the values are recognised by their shape:
 * JSON Web Tokens, `Bearer`/`Basic` credentials, payment card numbers (13-19 digits that start as a card
 * number does and pass the Luhn check, spaces or dashes allowed between them) and e-mail addresses. Each
 * is replaced by a marker naming what it was, so a reader still sees that something stood there.
 */

/** Three base64url parts, the first one a JSON header (`eyJ` is `{"` encoded). */
const JWT = /\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;
/** An HTTP credential in running text: the scheme, then the token. */
const AUTH_SCHEME = /\b(Bearer|Basic|Digest|Token)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
/**
 * A run of 13-19 digits, possibly grouped by single spaces or dashes, not inside a longer number, starting
 * as card numbers do (2-6: Mastercard, Amex, Diners, JCB, Visa, Discover, UnionPay), so that a millisecond
 * timestamp (1…, until 2286) is never taken for one; and not between letters, so that the digits of an
 * identifier (a UUID's last segments, a hash) are not either: one UUID in a few dozen held such a run
 * that passed Luhn, and its order was recorded and replayed under an id made unreadable.
 */
const CARD_CANDIDATE = /(?<![\dA-Za-z.])[2-6](?:[ -]?\d){12,18}(?![\dA-Za-z.])/g;
/** Deliberately broad: a false positive costs an example a few characters, a miss leaks an address. */
const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

/** Whether a digit string passes the Luhn check, as every payment card number does. */
export function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The HTTP credential schemes' names, for an expression in any case. */
export const SCHEME_NAMES = "bearer|basic|digest|token";
const SCHEME_WORD = new RegExp(SCHEME_NAMES, "i");
/** Groups of 3-4, 3-4 and 3 digits at most one separator apart, as every card number has (Amex's 4-6-5 too). */
const DIGIT_GROUPS = /\d{3,4}[ -]?\d{3,4}[ -]?\d{3}/;

/**
 * Whether `text` may hold a secret by its shape (a JWT's `eyJ`, an address's `@`, a scheme's name, a card's
 * digit groups): when not, scrubFreeText leaves it as it is. The quick test before the regular
 * expressions, since most strings hold none of them and a recording redacts every string of every kept
 * answer. Four tests, not one alternation: irregexp tried each of its seven branches at every position
 * (3 µs a 1 KB body, where these take 0.45).
 */
export function mayHoldSecret(text: string): boolean {
  return mayHoldSecretBesidesSchemes(text) || SCHEME_WORD.test(text);
}

/**
 * mayHoldSecret without its test for a scheme's name, for a caller whose own expression looks for
 * SCHEME_NAMES among others: one pass of the text instead of two (a kept answer's body is read whole).
 */
export function mayHoldSecretBesidesSchemes(text: string): boolean {
  return text.indexOf("@") !== -1 || text.indexOf("eyJ") !== -1 || DIGIT_GROUPS.test(text);
}

/** `text` with every JWT, HTTP credential, card number and e-mail address replaced by a marker. */
export function scrubFreeText(text: string): string {
  if (!mayHoldSecret(text)) return text;
  return text
    .replace(JWT, "[redacted jwt]")
    .replace(AUTH_SCHEME, (_whole, scheme: string) => `${scheme} [redacted]`)
    .replace(CARD_CANDIDATE, (run) => {
      const digits = run.replace(/[ -]/g, "");
      return passesLuhn(digits) ? "[redacted card]" : run;
    })
    .replace(EMAIL, "[redacted email]");
}
