import type { Difference } from "./json-diff.ts";

/**
 * Text bodies (HTML, plain text, XML, CSV: anything not JSON and not binary) compared token by token, so
 * that a page whose CSRF token, nonce or timestamp differs on every call has those places learned as
 * noise, one by one, while a real change elsewhere in it is still reported, with its line and an excerpt.
 *
 * A difference's path names its place by the words before it, not by its line or offset: `body:after
 * "name csrf value"`. Words are stable when a line is added above, so the noise learned at a place stays
 * learned, and the same place on the next page has the same signature. Digits are left out of the words,
 * so a place inside a timestamp or a counter is named by the words before the number.
 */

/** Words, numbers (letters, digits, `_`), and any other character but whitespace, one by one. */
const TOKEN = /[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;
const HAS_LETTER = /\p{L}/u;
const HAS_DIGIT = /\p{N}/u;

/** Past this many tokens a side, the bodies are compared whole (one `changed` at `body`). */
export const MAX_TEXT_TOKENS = 250_000;
/** Past this many tokens inserted and deleted, the bodies are different everywhere: compared whole. */
export const MAX_TEXT_EDITS = 1_000;
/** Differences kept per comparison, as for JSON. */
const MAX_TEXT_DIFFERENCES = 500;
/** Two changed runs this many equal tokens apart or fewer are one place (`10:04:18` → `10:05:22` is one change). */
const MERGE_GAP = 2;
/** Words of context that name a place, and how far back they are looked for. */
const CONTEXT_WORDS = 3;
const CONTEXT_REACH = 16;
const EXCERPT_CONTEXT = 40;
const MAX_EXCERPT = 120;

interface Tokens {
  readonly text: string;
  /** Each token's interned id, start offset and line (1-based). */
  readonly ids: Int32Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly lines: Int32Array;
}

function tokenize(text: string, intern: Map<string, number>): Tokens | undefined {
  const ids: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const lines: number[] = [];
  let line = 1;
  // The next newline not yet counted (-1: none left), so a long line is searched once, not once per token.
  let newline = text.indexOf("\n");
  for (const match of text.matchAll(TOKEN)) {
    if (ids.length >= MAX_TEXT_TOKENS) return undefined;
    const token = match[0];
    const start = match.index;
    while (newline !== -1 && newline < start) {
      line++;
      newline = text.indexOf("\n", newline + 1);
    }
    let id = intern.get(token);
    if (id === undefined) {
      id = intern.size;
      intern.set(token, id);
    }
    ids.push(id);
    starts.push(start);
    ends.push(start + token.length);
    lines.push(line);
  }
  return { text, ids: Int32Array.from(ids), starts: Int32Array.from(starts), ends: Int32Array.from(ends), lines: Int32Array.from(lines) };
}

/** A run of tokens that differs: `[leftFrom, leftTo)` of the left side became `[rightFrom, rightTo)` of the right. */
interface Hunk {
  leftFrom: number;
  leftTo: number;
  rightFrom: number;
  rightTo: number;
}

/**
 * The changed runs between two token sequences (Myers' O(ND) diff, after their common prefix and suffix),
 * or undefined when more than `maxEdits` tokens are inserted and deleted. Memory is O(D²) for D edits.
 */
export function tokenHunks(a: Int32Array, b: Int32Array, maxEdits = MAX_TEXT_EDITS): Hunk[] | undefined {
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (suffix < a.length - prefix && suffix < b.length - prefix && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) suffix++;
  const n = a.length - prefix - suffix;
  const m = b.length - prefix - suffix;
  if (n === 0 && m === 0) return [];
  if (n === 0 || m === 0) return [{ leftFrom: prefix, leftTo: prefix + n, rightFrom: prefix, rightTo: prefix + m }];
  const at = (s: Int32Array, i: number) => s[prefix + i] as number;
  const limit = Math.min(maxEdits, n + m);
  // v[k + offset]: the furthest x on diagonal k; trace[d]: v's window [-d, d] before step d.
  const offset = limit + 1;
  const v = new Int32Array(2 * limit + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= limit && found < 0; d++) {
    trace.push(v.slice(offset - d, offset + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number)) ? (v[offset + k + 1] as number) : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && at(a, x) === at(b, y)) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
  }
  if (found < 0) return undefined;
  // Back from the end: each step one token deleted or inserted, then a diagonal of equal tokens.
  const edits: Array<{ readonly x: number; readonly y: number; readonly deleted: boolean }> = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const window = trace[d] as Int32Array;
    const get = (k: number) => window[k + d] as number;
    const k = x - y;
    const previousK = k === -d || (k !== d && get(k - 1) < get(k + 1)) ? k + 1 : k - 1;
    const previousX = get(previousK);
    const previousY = previousX - previousK;
    while (x > previousX && y > previousY) {
      x--;
      y--;
    }
    edits.push({ x: previousX, y: previousY, deleted: x !== previousX });
    x = previousX;
    y = previousY;
  }
  edits.reverse();
  const hunks: Hunk[] = [];
  for (const e of edits) {
    const lx = prefix + e.x;
    const ly = prefix + e.y;
    const last = hunks[hunks.length - 1];
    // Adjacent to the last run (or within MERGE_GAP equal tokens of it, on both sides alike): the same place.
    if (last && lx - last.leftTo <= MERGE_GAP && ly - last.rightTo <= MERGE_GAP && lx - last.leftTo === ly - last.rightTo) {
      last.leftTo = e.deleted ? lx + 1 : Math.max(last.leftTo, lx);
      last.rightTo = e.deleted ? Math.max(last.rightTo, ly) : ly + 1;
    } else hunks.push({ leftFrom: lx, leftTo: e.deleted ? lx + 1 : lx, rightFrom: ly, rightTo: e.deleted ? ly : ly + 1 });
  }
  return hunks;
}

/** The words (no digits) just before token `from`: the place's name. */
function placeBefore(tokens: Tokens, from: number): string {
  const words: string[] = [];
  for (let i = from - 1; i >= 0 && i >= from - CONTEXT_REACH && words.length < CONTEXT_WORDS; i--) {
    const token = tokens.text.slice(tokens.starts[i], tokens.ends[i]);
    if (HAS_LETTER.test(token) && !HAS_DIGIT.test(token)) words.unshift(token.length > 24 ? token.slice(0, 24) : token);
  }
  return words.length === 0 ? "body:start" : `body:after ${JSON.stringify(words.join(" "))}`;
}

/** `line N: …text around the run…`, whitespace collapsed, at most 120 characters. */
function excerptOf(tokens: Tokens, from: number, to: number): string {
  const count = tokens.ids.length;
  const start = from < count ? (tokens.starts[from] as number) : tokens.text.length;
  const end = to > from ? (tokens.ends[to - 1] as number) : start;
  const line = count === 0 ? 1 : (tokens.lines[Math.min(from, count - 1)] as number);
  const before = tokens.text.slice(Math.max(0, start - EXCERPT_CONTEXT), start);
  const after = tokens.text.slice(end, end + EXCERPT_CONTEXT);
  const changed = tokens.text.slice(start, end);
  const shown = `${before.length === EXCERPT_CONTEXT ? "…" : ""}${before}[${changed}]${after}${after.length === EXCERPT_CONTEXT ? "…" : ""}`.replace(/\s+/g, " ");
  const text = `line ${line}: ${shown}`;
  return text.length > MAX_EXCERPT ? `${text.slice(0, MAX_EXCERPT - 1)}…` : text;
}

/**
 * The differences between two text bodies, token by token (whitespace never counts): one per changed
 * place, `changed`, `added` or `removed`, each showing the line and the changed text in brackets. Bodies
 * too long or too different for that are one `changed` at `body`, as before.
 */
export function diffText(left: string, right: string, wholeBody: (left: string, right: string) => Difference[]): Difference[] {
  const intern = new Map<string, number>();
  const a = tokenize(left, intern);
  const b = a && tokenize(right, intern);
  const hunks = a && b ? tokenHunks(a.ids, b.ids) : undefined;
  if (!a || !b || !hunks) return wholeBody(left, right);
  const out: Difference[] = [];
  for (const h of hunks.slice(0, MAX_TEXT_DIFFERENCES)) {
    const path = placeBefore(a, h.leftFrom);
    const removed = h.leftTo > h.leftFrom;
    const added = h.rightTo > h.rightFrom;
    const kind = removed && added ? "changed" : removed ? "removed" : "added";
    const difference: { path: string; kind: Difference["kind"]; left?: string; right?: string } = { path, kind };
    difference.left = excerptOf(a, h.leftFrom, h.leftTo);
    difference.right = excerptOf(b, h.rightFrom, h.rightTo);
    out.push(difference);
  }
  return out;
}
