import { Buffer } from "node:buffer";
import { decodeContent } from "../proxy/content-encoding.ts";
import { RawHead } from "../proxy/raw-head.ts";
import { redactorFor, type RedactionRules } from "../redaction/redactor.ts";
import { compileDiffRules, diffJsonExplained, type CompiledDiffRules, type Difference, type DiffRules } from "./json-diff.ts";
import { diffText } from "./text-diff.ts";
import { hasParts, headerParts } from "./header-parts.ts";

/** One backend's answer as captured for comparison (bounded: `truncated` when it was cut). */
export interface CapturedResponse {
  readonly status: number;
  /** As an object (parsed, or sent to the worker), or kept raw as it came (the hot path: see RawHead). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>> | RawHead;
  readonly body: Uint8Array;
  readonly truncated: boolean;
}

/** One side of a comparison: an answer, or the transport error that stood in for one. */
export type ComparedSide = { readonly ok: true; readonly response: CapturedResponse } | { readonly ok: false; readonly error: string };

export interface ComparisonRequest {
  readonly left: ComparedSide;
  readonly right: ComparedSide;
  /** Response headers compared (lower-case names). */
  readonly headers: readonly string[];
  readonly rules: DiffRules;
  /** When set and the answers differ, both bodies are rendered for a stored example (decoded, redacted, cut). */
  readonly example?: { readonly redactFields: readonly string[]; readonly maxBytes: number; readonly rules: RedactionRules };
  /** A noise sample: the primary backend's second answer, compared with its first (`side`) in the same task. */
  readonly noise?: { readonly side: "left" | "right"; readonly again: ComparedSide } | undefined;
  /** Largest body after decoding gzip, br or deflate; a larger one compares as undecodable. Default 64 MiB. */
  readonly maxDecodedBytes?: number;
  /**
   * Set by a caller that compared the bodies byte for byte while capturing them: every body (the pair's
   * and the noise sample's) is its counterpart's bytes, so none is compared (or read) again.
   */
  readonly identicalBodies?: boolean;
}

export type ComparisonOutcome = "match" | "diverge" | "error";

export interface ComparisonResult {
  readonly outcome: ComparisonOutcome;
  readonly differences: readonly Difference[];
  /** Both bodies as stored in an example, when asked for and the answers differ. */
  readonly example?: { readonly left: string; readonly right: string };
  /** With a noise sample: how the primary's two answers differ (an error outcome when one failed). */
  readonly noise?: ComparisonResult;
  /** Arrays that were paired by an automatic key (`keyNames`): signature path and key name. */
  readonly pairedBy?: ReadonlyArray<{ readonly path: string; readonly key: string }>;
}

/** The most a compressed body may inflate to before it is not compared (a zip bomb is not our problem to open). */
/** Largest decoded body when a request names none (`shadowing.maxDecodedBytes`): a bound on decompression bombs. */
const DEFAULT_MAX_DECODED_BYTES = 64 * 1024 * 1024;
const EXCERPT = 160;

function header(r: CapturedResponse, name: string): string | undefined {
  const headers = r.headers;
  if (headers instanceof RawHead) return headers.get(name);
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** Each value of a field, as sent (a repeated field's values apart, not joined). */
function headerValues(r: CapturedResponse, name: string): string[] {
  const headers = r.headers;
  if (headers instanceof RawHead) return headers.getAll(name);
  const value = headers[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** A header made of parts (`link`, `set-cookie`, `cache-control`), compared part by part: `header:link;rel=next`. */
function partDifferences(name: string, left: readonly string[], right: readonly string[]): Difference[] {
  const a = headerParts(name, left);
  const b = headerParts(name, right);
  const out: Difference[] = [];
  for (const [part, value] of a) {
    const other = b.get(part);
    const path = `header:${name};${part}`;
    if (other === undefined) out.push({ path, kind: "removed", left: value });
    else if (other !== value) out.push({ path, kind: "changed", left: value, right: other });
  }
  for (const [part, value] of b) if (!a.has(part)) out.push({ path: `header:${name};${part}`, kind: "added", right: value });
  return out;
}

/** Whether a field reads the same in both answers (absent from both counts); raw heads compare it in place. */
function sameField(a: CapturedResponse, b: CapturedResponse, name: string): boolean {
  const ha = a.headers;
  const hb = b.headers;
  if (ha instanceof RawHead && hb instanceof RawHead) return ha.sameAs(hb, name);
  return header(a, name) === header(b, name);
}

/** The body decoded from its Content-Encoding; a coding not decoded here is compared as its bytes. */
function decode(r: CapturedResponse, maxDecodedBytes: number): Buffer {
  const body = asBuffer(r.body);
  return decodeContent(body, header(r, "content-encoding"), maxDecodedBytes) ?? body;
}

/**
 * The texts one comparison decoded, by response: a pair that renders its example in the same call (in the
 * worker) is decoded once for both. Only then: a pair compared on the main thread renders an example
 * rarely (a few a minute per signature), and remembering every pair's texts for it (a WeakMap's get and
 * set per side) cost more than decoding those few again.
 */
type DecodedTexts = Map<CapturedResponse, string>;

/** The body as text, decoded from its Content-Encoding (taken from `texts` when it holds it, and added). */
function decodedText(r: CapturedResponse, maxDecodedBytes: number, texts?: DecodedTexts): string {
  let text = texts?.get(r);
  if (text === undefined) {
    text = decode(r, maxDecodedBytes).toString("utf8");
    texts?.set(r, text);
  }
  return text;
}

function normalizeHeader(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return name === "content-type" ? value.toLowerCase().replace(/\s+/g, "") : value.trim();
}

function normalizeText(text: string): string {
  return text.replace(/\r\n/g, "\n").replace(/[ \t]+/g, " ").replace(/ ?\n ?/g, "\n").trim();
}

function excerpt(text: string): string {
  return text.length > EXCERPT ? `${text.slice(0, EXCERPT - 1)}…` : text;
}

/** Whether a body is compared as JSON: it starts like a JSON object or array, or its media type says JSON. */
function looksJson(r: CapturedResponse, text: string): boolean {
  // The text first: a JSON answer (nearly every one compared) is then known without reading its head.
  if (startsLikeJson(text)) return true;
  const type = header(r, "content-type") ?? "";
  // Written in lower case nearly always: the case-blind test only when that finds nothing.
  return type.includes("json") || /json/i.test(type);
}

/** `/^\s*[[{]/.test(text)`, decided by the first character when it is `{`, `[` or other printable ASCII (never a space). */
function startsLikeJson(text: string): boolean {
  const first = text.charCodeAt(0);
  if (first === 0x7b || first === 0x5b) return true;
  if (first > 0x20 && first < 0x7f) return false;
  return /^\s*[[{]/.test(text);
}

const compiledRules = new Map<string, CompiledDiffRules>();
/** By the rules object itself first: the shadow session hands the same one while a route's rules stand (no key to serialise). */
const compiledByObject = new WeakMap<DiffRules, CompiledDiffRules>();
function rulesFor(rules: DiffRules): CompiledDiffRules {
  const known = compiledByObject.get(rules);
  if (known !== undefined) return known;
  const compiled = rulesForKey(rules);
  compiledByObject.set(rules, compiled);
  return compiled;
}

function rulesForKey(rules: DiffRules): CompiledDiffRules {
  const key = JSON.stringify(rules);
  let compiled = compiledRules.get(key);
  if (!compiled) {
    if (compiledRules.size > 1000) compiledRules.clear();
    compiled = compileDiffRules(rules);
    compiledRules.set(key, compiled);
  }
  return compiled;
}

/** A body as a Buffer: itself when it is one (a capture's), else a view on the same bytes (one the worker received). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  return a.byteLength === b.byteLength && asBuffer(a).equals(asBuffer(b));
}

/**
 * Compares two answers to the same request: transport errors, then status, then the chosen headers,
 * then the body (JSON structurally after decoding gzip/br/deflate; anything else as normalised text).
 * `left` is the legacy side, `right` the target side. Pure and synchronous: run it in a worker for
 * large bodies. `renderExample` false leaves out the example of a diverging pair (the caller renders its own).
 */
export function compareExchange(request: ComparisonRequest, renderExample = true): ComparisonResult {
  const texts: DecodedTexts | undefined = renderExample && request.example ? new Map() : undefined;
  let result = compareSides(request, texts);
  if (request.noise) {
    const first = request.noise.side === "left" ? request.left : request.right;
    result = { ...result, noise: compareSides({ left: first, right: request.noise.again, headers: request.headers, rules: request.rules, maxDecodedBytes: request.maxDecodedBytes, identicalBodies: request.identicalBodies }, texts) };
  }
  if (!renderExample || !request.example || result.outcome === "match") return result;
  const { redactFields, maxBytes, rules } = request.example;
  const maxDecoded = request.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
  return { ...result, example: { left: exampleText(request.left, redactFields, maxBytes, rules, maxDecoded, texts), right: exampleText(request.right, redactFields, maxBytes, rules, maxDecoded, texts) } };
}

/** One side's body as stored in an example: decoded, redacted (src/redaction/: the defaults, `rules` and the route's `fields`), cut to `maxBytes`. */
export function exampleText(side: ComparedSide, fields: readonly string[], maxBytes: number, rules: RedactionRules, maxDecodedBytes = DEFAULT_MAX_DECODED_BYTES, texts?: DecodedTexts): string {
  if (!side.ok) return `(no answer: ${side.error})`;
  let text: string;
  try {
    text = decodedText(side.response, maxDecodedBytes, texts);
  } catch {
    text = `(undecodable ${String(header(side.response, "content-encoding"))} body)`;
  }
  return redactorFor(rules).body(text, header(side.response, "content-type"), fields, maxBytes);
}

/** Two answers whose bodies are the same bytes in the same encoding: nothing in them needs parsing. */
function sameBytes(a: ComparedSide, b: ComparedSide | undefined, known: boolean): boolean {
  return a.ok && b !== undefined && b.ok && sameField(a.response, b.response, "content-encoding") && (known || bytesEqual(a.response.body, b.response.body));
}

/**
 * Whether a pair (and its noise sample) can be compared without decoding or parsing a body: every body is
 * byte for byte its counterpart's. Then only the status and the listed headers are left to compare,
 * which costs next to nothing however large the bodies: the size-aware rule that keeps a large answer
 * that matches (the common case) on the main thread, with no hand-off to the worker.
 */
export function comparesWithoutParsing(request: ComparisonRequest): boolean {
  const known = request.identicalBodies === true;
  if (!sameBytes(request.left, request.right, known)) return false;
  if (!request.noise) return true;
  return sameBytes(request.noise.side === "left" ? request.left : request.right, request.noise.again, known);
}

const NO_DIFFERENCES: readonly Difference[] = Object.freeze([]);

/** The result of a pair with nothing different (most of them): one shared, frozen object rather than one per pair. */
const MATCHED: ComparisonResult = Object.freeze({ outcome: "match", differences: NO_DIFFERENCES });

/** A pair where a side has no answer: a transport error stands in for it. */
function errorResult(left: ComparedSide, right: ComparedSide): ComparisonResult {
  return {
    outcome: "error",
    differences: [{ path: "$", kind: "error", left: left.ok ? `HTTP ${left.response.status}` : left.error, right: right.ok ? `HTTP ${right.response.status}` : right.error }],
  };
}

function statusResult(a: CapturedResponse, b: CapturedResponse): ComparisonResult {
  return { outcome: "diverge", differences: [{ path: "status", kind: "status", left: String(a.status), right: String(b.status) }] };
}

/** The listed headers that differ once normalised, in order (a shared empty list when none does: the common case). */
function headerDifferences(a: CapturedResponse, b: CapturedResponse, names: readonly string[]): readonly Difference[] {
  let differences: Difference[] | undefined;
  for (const name of names) {
    // The same text (the common case) normalises the same: no regex, no copies, and for raw heads no strings.
    if (sameField(a, b, name)) continue;
    if (hasParts(name)) {
      for (const d of partDifferences(name, headerValues(a, name), headerValues(b, name))) (differences ??= []).push(d);
      continue;
    }
    const ha = normalizeHeader(name, header(a, name));
    const hb = normalizeHeader(name, header(b, name));
    if (ha === hb) continue;
    const kind = ha === undefined ? "added" : hb === undefined ? "removed" : "changed";
    (differences ??= []).push({ path: `header:${name}`, kind, ...(ha !== undefined ? { left: ha } : {}), ...(hb !== undefined ? { right: hb } : {}) });
  }
  return differences ?? NO_DIFFERENCES;
}

/**
 * The verdict on a pair whose bodies are known to be the same bytes (found while they streamed, see
 * mirror-capture.ts), with no noise sample: transport errors, status and the listed headers decide it, so
 * it costs next to nothing and needs no later turn or worker. Undefined when the bodies must still be read
 * after all (their Content-Encodings differ): `compareExchange` then compares them.
 */
export function compareHeadsOfIdenticalBodies(left: ComparedSide, right: ComparedSide, headers: readonly string[]): ComparisonResult | undefined {
  if (!left.ok || !right.ok) return errorResult(left, right);
  const a = left.response;
  const b = right.response;
  if (!sameField(a, b, "content-encoding")) return undefined;
  if (a.status !== b.status) return statusResult(a, b);
  const differences = headerDifferences(a, b, headers);
  return differences.length === 0 ? MATCHED : { outcome: "diverge", differences };
}

function compareSides(request: ComparisonRequest, texts?: DecodedTexts): ComparisonResult {
  const { left, right } = request;
  if (!left.ok || !right.ok) return errorResult(left, right);
  const a = left.response;
  const b = right.response;
  if (a.status !== b.status) return statusResult(a, b);
  const differences = headerDifferences(a, b, request.headers);
  // The cheap test first: the same bytes with the same encoding are the same body.
  const sameEncoding = sameField(a, b, "content-encoding");
  if (sameEncoding && (request.identicalBodies === true || bytesEqual(a.body, b.body))) {
    return differences.length === 0 ? MATCHED : { outcome: "diverge", differences };
  }
  const pairedBy: Array<{ path: string; key: string }> = [];
  const inBodies = compareBodies(a, b, request.rules, request.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES, pairedBy, texts);
  const all = differences.length === 0 ? inBodies : differences.concat(inBodies);
  const result: { outcome: ComparisonOutcome; differences: readonly Difference[]; pairedBy?: typeof pairedBy } = { outcome: all.length === 0 ? "match" : "diverge", differences: all };
  if (pairedBy.length > 0) result.pairedBy = pairedBy;
  return result;
}

/** The body differences; arrays paired by an automatic key are added to `pairedBy`. */
function compareBodies(a: CapturedResponse, b: CapturedResponse, rules: DiffRules, maxDecodedBytes: number, pairedBy: Array<{ path: string; key: string }>, texts: DecodedTexts | undefined): Difference[] {
  let ta: string;
  let tb: string;
  try {
    ta = decodedText(a, maxDecodedBytes, texts);
    tb = decodedText(b, maxDecodedBytes, texts);
  } catch (error) {
    return [{ path: "body", kind: "changed", left: "(undecodable)", right: (error as Error).message }];
  }
  if (ta === tb) return [];
  if (looksJson(a, ta) && looksJson(b, tb) && !a.truncated && !b.truncated) {
    try {
      const { differences, autoKeyed } = diffJsonExplained(JSON.parse(ta), JSON.parse(tb), rulesFor(rules));
      for (const [path, key] of autoKeyed) pairedBy.push({ path, key });
      return differences;
    } catch {
      // Not JSON after all: fall through to text.
    }
  }
  if (isBinary(a, ta) || isBinary(b, tb)) {
    // Bytes that are not text have no places to name: the bodies differ, by their sizes.
    return [{ path: "body", kind: "changed", left: `(${decode(a, maxDecodedBytes).byteLength} bytes, binary)`, right: `(${decode(b, maxDecodedBytes).byteLength} bytes, binary)` }];
  }
  return diffText(ta, tb, wholeText);
}

/** Two texts compared whole, whitespace normalised: one `changed` at `body`, or none. */
function wholeText(ta: string, tb: string): Difference[] {
  const na = normalizeText(ta);
  const nb = normalizeText(tb);
  return na === nb ? [] : [{ path: "body", kind: "changed", left: excerpt(na), right: excerpt(nb) }];
}

/** Media types whose bodies are never text, whatever their bytes. */
const BINARY_TYPE = /^(image|audio|video|font)\/|^application\/(octet-stream|pdf|zip|gzip|x-tar|wasm|x-protobuf|protobuf|grpc)/i;

/**
 * Whether a body is binary: its media type says so, or its decoded text holds a NUL or a replacement
 * character (bytes that were not UTF-8) in its first 8 KB.
 */
function isBinary(r: CapturedResponse, text: string): boolean {
  if (BINARY_TYPE.test(header(r, "content-type") ?? "")) return true;
  const head = text.length > 8192 ? text.slice(0, 8192) : text;
  return head.includes("\u0000") || head.includes("\ufffd");
}
