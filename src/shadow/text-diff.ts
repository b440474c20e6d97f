import type { Difference } from "./json-diff.ts";

/**
 * Text bodies (HTML, plain text, XML, CSV: anything not JSON and not binary) compared line by line, then
 * token by token within the lines that differ, so that a page whose CSRF token, nonce or timestamp
 * differs on every call has those places learned as noise, one by one, while a real change elsewhere in
 * it is still reported, with its line and an excerpt.
 *
 * A difference's path names its place. In markup, by the words of the tags before it (`body:after "name
 * csrf value"`): stable when a line is added above, so the noise learned at a place stays learned; never
 * by the text between tags, which is the page's content (a name, a balance) and would put it in a
 * signature. Elsewhere by its line (`body:line 3`). The renderings (an excerpt of each side) are stored
 * redacted as any text is.
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
/** How far back (characters) the words that name a place are looked for. */
const CONTEXT_LOOKBACK = 400;
const EXCERPT_CONTEXT = 40;
const MAX_EXCERPT = 200;

interface Tokens {
  readonly text: string;
  /** Where the tokenized range ends: an insertion after the last token is placed there. */
  readonly rangeEnd: number;
  /** Each token's interned id, start and end offsets in `text`, and line (1-based). */
  readonly ids: Int32Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly lines: Int32Array;
}

/** The tokens of `text` from `from` to `to`, which starts on line `firstLine`; undefined past MAX_TEXT_TOKENS. */
function tokenize(text: string, from: number, to: number, firstLine: number, intern: Map<string, number>): Tokens | undefined {
  const ids: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const lines: number[] = [];
  let line = firstLine;
  const range = text.slice(from, to);
  // The next newline not yet counted (-1: none left), so a long line is searched once, not once per token.
  let newline = range.indexOf("\n");
  for (const match of range.matchAll(TOKEN)) {
    if (ids.length >= MAX_TEXT_TOKENS) return undefined;
    const token = match[0];
    const start = match.index;
    while (newline !== -1 && newline < start) {
      line++;
      newline = range.indexOf("\n", newline + 1);
    }
    let id = intern.get(token);
    if (id === undefined) {
      id = intern.size;
      intern.set(token, id);
    }
    ids.push(id);
    starts.push(from + start);
    ends.push(from + start + token.length);
    lines.push(line);
  }
  return { text, rangeEnd: to, ids: Int32Array.from(ids), starts: Int32Array.from(starts), ends: Int32Array.from(ends), lines: Int32Array.from(lines) };
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

/** A tag, whole or (the one a change sits in) still open: `<input name="csrf" value="`. */
const TAG = /<[^<>]*>?/g;

/**
 * The place's name: in markup (HTML, XML), the words of the tags just before `offset` (tag and attribute
 * names, and attribute values made of letters), never the text between tags, which is the page's content
 * (a user's name, a balance): `body:after "name csrf value"`. Stable when lines are added above, so noise
 * learned there stays learned. In other text, or with no tag words near, the line: `body:line 3`.
 */
function placeOf(text: string, offset: number, markup: boolean, line: number): string {
  if (markup) {
    const before = text.slice(Math.max(0, offset - CONTEXT_LOOKBACK), offset);
    const words: string[] = [];
    for (const tag of before.match(TAG) ?? []) for (const m of tag.matchAll(TOKEN)) if (HAS_LETTER.test(m[0]) && !HAS_DIGIT.test(m[0])) words.push(m[0].length > 24 ? m[0].slice(0, 24) : m[0]);
    if (words.length > 0) return `body:after ${JSON.stringify(words.slice(-CONTEXT_WORDS).join(" "))}`;
  }
  return `body:line ${line}`;
}

/** `line N: …text around the run…`, whitespace collapsed, at most MAX_EXCERPT characters. */
function excerptOf(tokens: Tokens, from: number, to: number): string {
  const count = tokens.ids.length;
  const start = from < count ? (tokens.starts[from] as number) : tokens.rangeEnd;
  const end = to > from ? (tokens.ends[to - 1] as number) : start;
  const line = count === 0 ? lineAt(tokens.text, start) : (tokens.lines[Math.min(from, count - 1)] as number);
  // No marker inside the text: the stored rendering is redacted as text (src/redaction/), and a bracket
  // between `Bearer` and its token would hide the credential from the patterns. For the same reason the
  // window starts at a word's start, one whole word before the cut: a scheme's or a `password=`'s name is
  // never cut off from the value it names.
  const text = tokens.text;
  let from0 = Math.max(0, start - EXCERPT_CONTEXT);
  const floor = Math.max(0, start - MAX_EXCERPT);
  if (from0 > 0) {
    while (from0 > floor && !/\s/.test(text[from0 - 1] as string)) from0--;
    while (from0 > floor && /\s/.test(text[from0 - 1] as string)) from0--;
    while (from0 > floor && !/\s/.test(text[from0 - 1] as string)) from0--;
  }
  const until = Math.max(end, start) + EXCERPT_CONTEXT;
  const shown = `${from0 > 0 ? "…" : ""}${text.slice(from0, until)}${until < text.length ? "…" : ""}`.replace(/\s+/g, " ");
  const rendered = `line ${line}: ${shown}`;
  return rendered.length > MAX_EXCERPT ? `${rendered.slice(0, MAX_EXCERPT - 1)}…` : rendered;
}

/** The 1-based line of `offset` (only for a run with no tokens: rare). */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

/** Lines as the line pass reads them: interned ids, and each line's start offset (one more entry: the text's end). */
function linesOf(text: string, intern: Map<string, number>): { ids: Int32Array; starts: Int32Array } {
  const lines = text.split("\n");
  const ids = new Int32Array(lines.length);
  const starts = new Int32Array(lines.length + 1);
  let offset = 0;
  lines.forEach((line, i) => {
    let id = intern.get(line);
    if (id === undefined) {
      id = intern.size;
      intern.set(line, id);
    }
    ids[i] = id;
    starts[i] = offset;
    offset += line.length + 1;
  });
  starts[lines.length] = text.length;
  return { ids, starts };
}

/**
 * The differences between two text bodies, token by token (whitespace never counts): one per changed
 * place, `changed`, `added` or `removed`, each rendered as its line and the text around it. The
 * lines that differ are found first (most of a page is the same lines), and only those are tokenized
 * and diffed: a 200 KB page with a token and a time that differ costs a line split, not 60,000 tokens.
 * Bodies too long or too different for that are one `changed` at `body`, as before.
 */
export function diffText(left: string, right: string, wholeBody: (left: string, right: string) => Difference[]): Difference[] {
  const lineIntern = new Map<string, number>();
  const la = linesOf(left, lineIntern);
  const lb = linesOf(right, lineIntern);
  const lineHunks = tokenHunks(la.ids, lb.ids);
  if (!lineHunks) return wholeBody(left, right);
  const intern = new Map<string, number>();
  const out: Difference[] = [];
  const markup = /^\s*</.test(left.slice(0, 256));
  for (const lh of lineHunks) {
    const a = tokenize(left, la.starts[lh.leftFrom] as number, la.starts[lh.leftTo] as number, lh.leftFrom + 1, intern);
    const b = a && tokenize(right, lb.starts[lh.rightFrom] as number, lb.starts[lh.rightTo] as number, lh.rightFrom + 1, intern);
    const hunks = a && b ? tokenHunks(a.ids, b.ids) : undefined;
    if (!a || !b || !hunks) return wholeBody(left, right);
    for (const h of hunks) {
      if (out.length >= MAX_TEXT_DIFFERENCES) return out;
      const removed = h.leftTo > h.leftFrom;
      const added = h.rightTo > h.rightFrom;
      const offset = h.leftFrom < a.ids.length ? (a.starts[h.leftFrom] as number) : a.rangeEnd;
      const line = h.leftFrom < a.ids.length ? (a.lines[h.leftFrom] as number) : lineAt(left, offset);
      out.push({ path: placeOf(left, offset, markup, line), kind: removed && added ? "changed" : removed ? "removed" : "added", left: excerptOf(a, h.leftFrom, h.leftTo), right: excerptOf(b, h.rightFrom, h.rightTo) });
    }
  }
  return out;
}
