import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import { childPath, compilePathPatterns } from "../json/json-path.ts";
import { mayHoldSecretBesidesSchemes, SCHEME_NAMES, scrubFreeText } from "./free-text.ts";

/**
 * What is never stored of an exchange (a divergence example today; a recording next): credentials by
 * name in headers, query parameters, JSON and form fields, and secrets by shape in any text. It fails
 * closed: a name that looks like a credential is withheld even when it is not one, a body it cannot read
 * safely (binary, undecodable) is not stored at all, and an error while redacting withholds the whole
 * value. The defaults cover the usual names; `redaction` in routes.config.ts adds a deployment's own.
 */
export const REDACTED = "[redacted]";

/** Names (exact, case-insensitive) per channel: headers, query parameters, JSON members and form fields. */
export interface RedactionNames {
  readonly headers: readonly string[];
  readonly queryParams: readonly string[];
  readonly fields: readonly string[];
}

/** The names a deployment adds to the defaults, from `redaction` in the config. */
export interface RedactionRules extends RedactionNames {
  /**
   * Values that must still correlate across exchanges (a user id, an order id): replaced by a keyed
   * pseudonym, the same for the same value, never the value or a plain hash of it.
   */
  readonly pseudonymize?: RedactionNames;
  /** The pseudonyms' key, base64 (the store's own secret, so every node agrees); without it they are withheld. */
  readonly pseudonymKey?: string;
}

export const NO_EXTRA_RULES: RedactionRules = Object.freeze({ headers: [], queryParams: [], fields: [] });

/** A keyed pseudonym: `psn_` and 22 base64url characters (132 bits) of HMAC-SHA256(key, value). */
export function pseudonym(key: Buffer, value: string): string {
  return `psn_${createHmac("sha256", key).update(value).digest("base64url").slice(0, 22)}`;
}

/**
 * Names that hold credentials, wherever they appear (a header, a query parameter, a JSON or form field),
 * matched in lower case anywhere in the name: `x-api-key`, `apiKey`, `access_token`, `client_secret`,
 * `sessionId`, `X-CSRF-Token`, `password`. Short names are matched whole (`sid`, `pin`, `cvv`).
 */
const SECRET_NAME = /authorization|cookie|passw(?:or)?d|passphrase|secret|token|api[-_.]?key|access[-_.]?key|private[-_.]?key|client[-_.]?key|session[-_.]?(?:id|key)|credential|signature|^session$|^sid$|^otp$|^pin$|^ssn$|^cvv2?$|^cvc$|^auth$|^pwd$/;
/** SECRET_NAME's names anywhere in a text, whole or not (`pin` in `shipping` too): a superset, for a quick test. */
const SECRET_NAME_ANYWHERE = SECRET_NAME.source.replace(/[$^]/g, "");
/** SECRET_NAME_ANYWHERE or a credential scheme's name (free text's test), in any case: one pass over a JSON body for both. */
const SECRET_NAME_OR_SCHEME_ANYWHERE = new RegExp(`${SECRET_NAME_ANYWHERE}|${SCHEME_NAMES}`, "i");
/** Short names that carry a credential in a URL (an API key, an OAuth code, a signed URL's signature), not in a body. */
const SECRET_QUERY_NAME = /^(?:key|code|sig|x-amz-signature|x-goog-signature)$/;

/** `name=value` or `name: value` in running text, for the names that most often carry a secret. */
const SECRET_ASSIGNMENT = /\b(password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|api[-_]?key|apikey)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&,;"'<>]+)/gi;

/** A JSON member whose name looks like a credential, in JSON that does not parse (cut short, malformed). */
const SECRET_JSON_MEMBER = /("(?:[^"\\]|\\.)*")(\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\]\s]+)/g;

/** A query or form part decoded (`+` as a space, %-escapes); undefined when an escape is malformed. */
function formDecoded(part: string): string | undefined {
  try {
    return decodeURIComponent(part.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

/** Text that is not text: a NUL, or many replacement characters from bytes that are not UTF-8. */
function looksBinary(text: string): boolean {
  if (text.includes("\u0000")) return true;
  let replaced = 0;
  for (let i = text.indexOf("\uFFFD"); i !== -1; i = text.indexOf("\uFFFD", i + 1)) replaced++;
  return replaced > 0 && replaced * 100 > text.length;
}

/** What becomes of a header by its name. */
type HeaderFate = "withheld" | "pseudonymized" | "scrubbed";
/** How many header names' fates, and how many clean texts, a redactor remembers (then forgets them together). */
const REMEMBERED = 1_000;
/** Texts longer than this are scrubbed each time: a long one rarely comes back the same. */
const REMEMBERED_LENGTH = 256;

/** Ends a stored body that was cut to its bound (`exampleBodyBytes`): the API and the cockpit say so. */
export const TRUNCATED_MARK = "… (truncated)";

export class Redactor {
  readonly #headers: ReadonlySet<string>;
  readonly #queryParams: ReadonlySet<string>;
  readonly #fields: ReadonlySet<string>;
  readonly #pseudonymHeaders: ReadonlySet<string>;
  readonly #pseudonymParams: ReadonlySet<string>;
  readonly #pseudonymFields: ReadonlySet<string>;
  readonly #key: Buffer | undefined;
  /** The config's field names and pseudonymized fields anywhere in a text (case-insensitive); undefined when it lists none. */
  readonly #configuredFieldNames: RegExp | undefined;

  constructor(rules: RedactionRules = NO_EXTRA_RULES) {
    const lower = (names: readonly string[] = []) => new Set(names.map((n) => n.toLowerCase()));
    this.#headers = lower(rules.headers);
    this.#queryParams = lower(rules.queryParams);
    this.#fields = lower(rules.fields);
    this.#pseudonymHeaders = lower(rules.pseudonymize?.headers);
    this.#pseudonymParams = lower(rules.pseudonymize?.queryParams);
    this.#pseudonymFields = lower(rules.pseudonymize?.fields);
    this.#key = rules.pseudonymKey ? Buffer.from(rules.pseudonymKey, "base64") : undefined;
    const names = [...this.#fields, ...this.#pseudonymFields];
    this.#configuredFieldNames = names.length > 0 ? new RegExp(names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "i") : undefined;
  }

  /**
   * Whether a JSON text certainly holds nothing to redact, so that it is stored as it came, unparsed: no
   * escape (which could spell a name or a secret another way), nothing a secret's shape starts with, no
   * credential-like name anywhere (as a member or in an assignment), and none of the config's fields. Any
   * doubt takes the full path; for the answers most routes give it saves the parse, the walk and the
   * rewrite of every kept body (a recorded exchange's largest cost).
   */
  #plainJson(text: string): boolean {
    return text.indexOf("\\") === -1 && !mayHoldSecretBesidesSchemes(text) && !SECRET_NAME_OR_SCHEME_ANYWHERE.test(text) && !(this.#configuredFieldNames?.test(text) ?? false);
  }

  /** The value's pseudonym; withheld when there is no key to make one with (failing closed). */
  #pseudonym(value: string): string {
    return this.#key ? pseudonym(this.#key, value) : REDACTED;
  }

  /** Whether a name holds a credential: one of the defaults' shapes, or one the config lists. */
  #secret(name: string, extra: ReadonlySet<string>): boolean {
    const lower = name.toLowerCase();
    return extra.has(lower) || SECRET_NAME.test(lower);
  }

  /** Free text with secrets by shape and `password=…`-like assignments withheld. */
  text(text: string): string {
    const scrubbed = scrubFreeText(text);
    // An assignment needs its `=` or `:`: most strings have neither, and skip the expression.
    if (scrubbed.indexOf("=") === -1 && scrubbed.indexOf(":") === -1) return scrubbed;
    return scrubbed.replace(SECRET_ASSIGNMENT, (_whole, name: string, sep: string) => `${name}${sep}${REDACTED}`);
  }

  /** Request (or response) headers as stored: credentials by name withheld, the other values scrubbed. */
  headers(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      const text = Array.isArray(value) ? value.join(", ") : value;
      const fate = this.#headerFate(name);
      out[name] = fate === "withheld" ? REDACTED : fate === "pseudonymized" ? this.#pseudonym(text) : this.#scrubbedRemembered(text);
    }
    return out;
  }

  /**
   * Header names' fates, remembered: a deployment's header names are few and come back on every
   * exchange, and the credential-name expression was the largest part of redacting a recorded head.
   */
  readonly #headerFates = new Map<string, HeaderFate>();

  #headerFate(name: string): HeaderFate {
    let fate = this.#headerFates.get(name);
    if (fate === undefined) {
      fate = this.#secret(name, this.#headers) ? "withheld" : this.#pseudonymHeaders.has(name.toLowerCase()) ? "pseudonymized" : "scrubbed";
      if (this.#headerFates.size >= REMEMBERED) this.#headerFates.clear();
      this.#headerFates.set(name, fate);
    }
    return fate;
  }

  /**
   * Short texts that scrubbing leaves as they are, remembered (a Host, a Content-Type, a path): they come
   * back on every exchange. Only those: a text that held a secret is never kept here, so this holds
   * nothing that the stored exchanges do not hold already.
   */
  readonly #clean = new Set<string>();

  /** `text(value)`, by memory for the short values already found clean. */
  #scrubbedRemembered(value: string): string {
    if (this.#clean.has(value)) return value;
    const stored = this.text(value);
    if (stored === value && value.length <= REMEMBERED_LENGTH) {
      if (this.#clean.size >= REMEMBERED) this.#clean.clear();
      this.#clean.add(value);
    }
    return stored;
  }

  /** A request's path as stored: free text, scrubbed (an e-mail address or a token in a path segment). */
  path(path: string): string {
    return this.#scrubbedRemembered(path);
  }

  /** A query string (with or without its `?`) as stored: credential parameters' values withheld, the others scrubbed. */
  query(query: string): string {
    if (query === "" || query === "?") return query;
    const mark = query.startsWith("?") ? "?" : "";
    const parts = (mark ? query.slice(1) : query).split("&").map((pair) => {
      const eq = pair.indexOf("=");
      const rawName = eq === -1 ? pair : pair.slice(0, eq);
      // A malformed escape: the name is judged as written.
      const name = formDecoded(rawName) ?? rawName;
      if (eq === -1) return this.text(pair);
      if (this.#secret(name, this.#queryParams) || this.#secret(name, this.#fields) || SECRET_QUERY_NAME.test(name.toLowerCase())) return `${rawName}=${encodeURIComponent(REDACTED)}`;
      const value = pair.slice(eq + 1);
      // With a malformed escape, the value is pseudonymized or scrubbed as written.
      if (this.#pseudonymParams.has(name.toLowerCase()) || this.#pseudonymFields.has(name.toLowerCase())) return `${rawName}=${this.#pseudonym(formDecoded(value) ?? value)}`;
      const decoded = formDecoded(value);
      if (decoded === undefined) return `${rawName}=${this.text(value)}`;
      const scrubbed = this.text(decoded);
      return `${rawName}=${scrubbed === decoded ? value : encodeURIComponent(scrubbed)}`;
    });
    return `${mark}${parts.join("&")}`;
  }

  /**
   * A body as stored, from its decoded text: JSON with credential-named members, the config's fields and
   * the route's `paths` withheld and every string scrubbed; a form likewise by field; other text scrubbed;
   * binary content not stored. Cut to `maxBytes` after redaction (so a cut never splits a secret in two
   * halves that escape the patterns).
   */
  body(text: string, contentType: string | undefined, paths: readonly string[], maxBytes: number): string {
    let stored: string;
    try {
      stored = this.#body(text, (contentType ?? "").toLowerCase(), paths);
    } catch {
      stored = "(not stored: it could not be redacted)";
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit: most bodies are under the bound by their length alone, without a count of their bytes.
    if (stored.length * 3 <= maxBytes || Buffer.byteLength(stored) <= maxBytes) return stored;
    return `${Buffer.from(stored).subarray(0, maxBytes).toString("utf8")}${TRUNCATED_MARK}`;
  }

  #body(text: string, contentType: string, paths: readonly string[]): string {
    if (text === "") return text;
    if (looksBinary(text)) return `(${Buffer.byteLength(text)} bytes of binary content: not stored)`;
    if (contentType.includes("application/x-www-form-urlencoded")) return this.query(text);
    const trimmed = text.trimStart();
    if (contentType.includes("json") || trimmed.startsWith("{") || trimmed.startsWith("[")) {
      if (paths.length === 0 && this.#plainJson(text)) return text;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not whole JSON (cut short, malformed): members are found by their look instead of parsing.
        return this.#looseText(text);
      }
      const matcher = paths.length > 0 ? compilePathPatterns(paths) : undefined;
      return JSON.stringify(this.#json(parsed, "$", (p) => matcher?.matches(p) ?? false));
    }
    return this.text(text);
  }

  /** Text that may hold JSON members anywhere in it (cut JSON, an excerpt of a text body): found by their look, then scrubbed as free text. */
  #looseText(text: string): string {
    return this.text(text.replace(SECRET_JSON_MEMBER, (whole, name: string, sep: string) => {
      let key = name;
      try {
        key = JSON.parse(name) as string;
      } catch {
        key = name.slice(1, -1);
      }
      return this.#secret(key, this.#fields) ? `${name}${sep}"${REDACTED}"` : whole;
    }));
  }

  /**
   * A difference as stored (its two short renderings of the values): withheld whole when the member it is
   * about, or one above it, holds a credential or is one of the route's `paths`; otherwise each rendering
   * redacted as the JSON or text it is.
   */
  difference<D extends { readonly path: string; readonly left?: string; readonly right?: string }>(d: D, paths: readonly string[]): D {
    if (d.left === undefined && d.right === undefined) return d;
    const matcher = paths.length > 0 ? compilePathPatterns(paths) : undefined;
    const configured = (p: string) => matcher?.matches(p) ?? false;
    const withheld = memberNames(d.path).some((name) => this.#secret(name, this.#fields) || this.#secret(name, this.#headers)) || pathAndAncestors(d.path).some(configured);
    const names = memberNames(d.path);
    const pseudonymized = names.length > 0 && (this.#pseudonymFields.has((names.at(-1) as string).toLowerCase()) || (d.path.startsWith("header:") && this.#pseudonymHeaders.has((names[0] as string).toLowerCase())));
    const render = (value: string | undefined): string | undefined => {
      if (value === undefined) return undefined;
      if (withheld) return REDACTED;
      if (pseudonymized) {
        let parsed: unknown = value;
        try {
          parsed = JSON.parse(value);
        } catch {
          // A header's value, or a rendering that is not JSON: its pseudonym as it is.
        }
        if (typeof parsed === "string" || typeof parsed === "number") return d.path.startsWith("header:") ? this.#pseudonym(String(parsed)) : JSON.stringify(this.#pseudonym(String(parsed)));
      }
      // An excerpt of a text body (`line 3: …`): it may start anywhere, inside JSON that did not parse too.
      if (d.path.startsWith("body")) return this.#looseText(value);
      try {
        return JSON.stringify(this.#json(JSON.parse(value), d.path, configured));
      } catch {
        // A rendering of text, or of JSON cut short: read as a body is.
        return this.#body(value, "", []);
      }
    };
    try {
      return { ...d, left: render(d.left), right: render(d.right) };
    } catch {
      return { ...d, left: REDACTED, right: REDACTED };
    }
  }

  #json(value: unknown, path: string, configured: (path: string) => boolean): unknown {
    if (configured(path)) return REDACTED;
    if (typeof value === "string") return this.text(value);
    // A card number sent as a JSON number.
    if (typeof value === "number" && Number.isSafeInteger(value) && value >= 1e12 && scrubFreeText(String(value)) !== String(value)) return "[redacted card]";
    if (Array.isArray(value)) return value.map((v, i) => this.#json(v, childPath(path, i), configured));
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (this.#secret(k, this.#fields)) out[k] = REDACTED;
        else if (this.#pseudonymFields.has(k.toLowerCase()) && (typeof v === "string" || typeof v === "number")) out[k] = this.#pseudonym(String(v));
        else out[k] = this.#json(v, childPath(path, k), configured);
      }
      return out;
    }
    return value;
  }
}

/**
 * The member and header names along a difference's path: `$.user["api-key"][0].x` → user, api-key, x;
 * `header:x-token` → x-token; a header's part, `header:set-cookie;sid;httponly` → set-cookie, sid, httponly
 * (so a cookie's value is withheld as the whole header is).
 */
function memberNames(path: string): string[] {
  if (path.startsWith("header:")) return path.slice("header:".length).split(";");
  return [...path.matchAll(/\.([A-Za-z_$][\w$]*)|\["((?:[^"\\]|\\.)*)"\]/g)].map((m) => m[1] ?? (m[2] as string));
}

/** `$.a.b[0]` → `$.a.b[0]`, `$.a.b`, `$.a`, `$`: a configured path covers what is under it. */
function pathAndAncestors(path: string): string[] {
  const out = [path];
  for (let p = path; ; ) {
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
    if (cut <= 0) break;
    p = p.slice(0, cut);
    out.push(p);
  }
  return out;
}

/** The name of the store's secret that keys the pseudonyms. */
export const PSEUDONYM_KEY = "pseudonyms";

/**
 * The config's rules with the key added: the same object while the config's `redaction` stays the same
 * object (until a reload replaces it), so the redactor made for it is made once.
 */
export function withPseudonymKey(rules: () => RedactionRules, pseudonymKey: string): () => RedactionRules {
  let from: RedactionRules | undefined;
  let keyed: RedactionRules = NO_EXTRA_RULES;
  return () => {
    const current = rules();
    if (current !== from) [from, keyed] = [current, { ...current, pseudonymKey }];
    return keyed;
  };
}

/** One redactor per rules object: the config's rules stay the same object until a reload replaces them. */
const redactors = new WeakMap<RedactionRules, Redactor>();
export function redactorFor(rules: RedactionRules): Redactor {
  let redactor = redactors.get(rules);
  if (!redactor) redactors.set(rules, (redactor = new Redactor(rules)));
  return redactor;
}
