import { childPath, compilePathPatterns, signaturePath, type PathMatcher } from "../json/json-path.ts";
import { jsonNumber, jsonString } from "../json/json-text.ts";

/** What differs at a path, seen from the legacy side (left) to the target side (right). */
/** What a difference can be: of a body or a header (the first six, which noise can be), a status, or no answer. */
export const DIFFERENCE_KINDS = ["changed", "type_changed", "added", "removed", "null_vs_missing", "order", "status", "error"] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

export interface Difference {
  /** Concrete path, e.g. `$.items[3].price`. */
  readonly path: string;
  readonly kind: DifferenceKind;
  /** Short renderings of both values (absent for added/removed sides). */
  readonly left?: string;
  readonly right?: string;
}

/** How one array is paired (see `diffArrays`). */
export interface ArrayRule {
  readonly path: string;
  /** Pair elements by this field; their order then counts only with `ordered`. */
  readonly key?: string;
  /** Compare as a multiset: order never counts. */
  readonly unordered?: boolean;
  /** With `key`: report an `order` difference when paired elements come in another order. */
  readonly ordered?: boolean;
}

/** How to compare two JSON documents of a route. */
export interface DiffRules {
  /** Paths whose differences do not count (signature patterns, `*` for any key). */
  readonly ignore?: readonly string[];
  /** Arrays paired by a key field (`{ path: "$.items", key: "id" }`) or compared as sets (`{ path, unordered: true }`). */
  readonly arrays?: readonly ArrayRule[];
  /**
   * Field names that pair an array of objects by themselves when every element on both sides has a
   * unique value for one of them, tried in order. Default `["id"]`; `[]` turns automatic keys off.
   */
  readonly keyNames?: readonly string[];
  /**
   * Paths set aside when deciding whether two array elements are the same element (learned noise):
   * their differences are still reported, for the noise filter to judge.
   */
  readonly setAside?: readonly string[];
  /** Numbers that differ by at most this much are equal. */
  readonly numericTolerance?: number;
  /** ISO-8601 timestamps that differ by at most this many milliseconds are equal. */
  readonly timestampToleranceMs?: number;
}

/** Rules compiled once per route. */
export interface CompiledDiffRules {
  readonly ignore: PathMatcher;
  readonly setAside: PathMatcher;
  /** True when some path is ignored or set aside: element identity must then skip fields. */
  readonly skipsFields: boolean;
  /** True when some path is set aside: elements equal but for those must still be diffed, for the noise filter. */
  readonly setsAside: boolean;
  readonly arrays: ReadonlyMap<string, Omit<ArrayRule, "path">>;
  readonly keyNames: readonly string[];
  readonly numericTolerance: number;
  readonly timestampToleranceMs: number;
}

export function compileDiffRules(rules: DiffRules = {}): CompiledDiffRules {
  // Stryker disable next-line ArrayDeclaration: equivalent — a pattern that is not a path matches no field
  const ignore = rules.ignore ?? [];
  // Stryker disable next-line ArrayDeclaration: equivalent — a pattern that is not a path matches no field
  const setAside = rules.setAside ?? [];
  return {
    ignore: compilePathPatterns(ignore),
    setAside: compilePathPatterns(setAside),
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent — a fast-path flag: true only takes the slower way to the same identity
    skipsFields: ignore.length + setAside.length > 0,
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent — a fast-path flag: true only diffs equal elements, which yields nothing
    setsAside: setAside.length > 0,
    arrays: new Map((rules.arrays ?? []).map((a) => [signaturePath(a.path), { key: a.key, unordered: a.unordered, ordered: a.ordered }])),
    keyNames: rules.keyNames ?? ["id"],
    numericTolerance: rules.numericTolerance ?? 0,
    timestampToleranceMs: rules.timestampToleranceMs ?? 0,
  };
}

const MAX_RENDER = 120;
/**
 * Real differences kept per comparison: past this the documents are simply different everywhere. Learned
 * noise (the rules' `setAside`) is counted apart, so a noisy field in every element of a long array never
 * spends the cap a real change deep inside needs; it has a bound of its own.
 */
export const MAX_DIFFERENCES = 500;
/** Differences at learned-noise paths kept per comparison (the session counts them as noise). */
export const MAX_SET_ASIDE_DIFFERENCES = 5_000;
// Stryker disable next-line Regex: the anchors are belt and braces — Date.parse refuses a timestamp with text before or after it
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function render(value: unknown): string {
  // A scalar as JSON writes it, without the call (see jsonString); a container through JSON.stringify, in its own key order.
  const text = value !== null && typeof value === "object" ? JSON.stringify(value) : canonical(value);
  return text.length > MAX_RENDER ? `${text.slice(0, MAX_RENDER - 1)}…` : text;
}

function typeOf(value: unknown): string {
  // Stryker disable next-line StringLiteral: equivalent — any label distinct from typeof's own would do
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** A stable text form of a value (object keys sorted), for set and order comparisons. */
export function canonical(value: unknown): string {
  // Primitives as JSON.stringify writes them (a parsed document holds no NaN or Infinity: numbers print as themselves).
  if (typeof value === "string") return jsonString(value);
  if (typeof value === "number") return jsonNumber(value);
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${jsonString(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
}

const isContainer = (v: unknown): v is object => v !== null && typeof v === "object";
const isPlainObject = (v: unknown): v is Record<string, unknown> => isContainer(v) && !Array.isArray(v);

/** True when both arrays hold the same scalars (no objects or arrays) in the same places. */
function sameScalars(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v !== b[i] || isContainer(v)) return false;
  }
  return true;
}

/** The form a key pairs by: a number and the string of its digits alike, anything else as its canonical text. */
function pairingKey(value: unknown): string {
  if (typeof value === "string") return `s${value}`;
  if (typeof value === "number") return `s${jsonNumber(value)}`;
  return `c${canonical(value)}`;
}

/** True when every element is an object with a unique string or number at `name`. */
function uniquelyKeyed(elements: readonly unknown[], name: string): boolean {
  const seen = new Set<unknown>();
  for (const e of elements) {
    if (!isPlainObject(e)) return false;
    const v = e[name];
    if ((typeof v !== "string" && typeof v !== "number") || seen.has(v)) return false;
    seen.add(v);
  }
  return true;
}

/** True when the right-side indices of pairs taken in left order are not rising. */
function outOfOrder(pairs: ReadonlyArray<readonly [number, number]>): boolean {
  // Stryker disable next-line EqualityOperator: equivalent — each right index is paired once, so two are never equal
  for (let i = 1; i < pairs.length; i++) if ((pairs[i] as readonly [number, number])[1] < (pairs[i - 1] as readonly [number, number])[1]) return true;
  return false;
}

/** A field of the objects at one signature: its own signature, its name quoted, and whether identity and similarity skip it. */
interface FieldInfo {
  readonly signature: string;
  readonly quoted: string;
  readonly skipped: boolean;
}

/** `fields`' entry for `name`, made on first sight. */
function fieldOf(fields: Map<string, FieldInfo>, signature: string, name: string, rules: CompiledDiffRules): FieldInfo {
  let field = fields.get(name);
  // Stryker disable next-line ConditionalExpression: equivalent — a cache: recomputing gives the same field
  if (!field) {
    const child = childPath(signature, name);
    field = { signature: child, quoted: jsonString(name), skipped: rules.ignore.matches(child) || rules.setAside.matches(child) };
    fields.set(name, field);
  }
  return field;
}

/** Two lists of pairs, each in left order, as one in left order. */
function mergeByLeft(x: ReadonlyArray<[number, number]>, y: ReadonlyArray<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let p = 0;
  let q = 0;
  while (p < x.length || q < y.length) {
    if (q >= y.length || (p < x.length && (x[p] as [number, number])[0] < (y[q] as [number, number])[0])) out.push(x[p++] as [number, number]);
    else out.push(y[q++] as [number, number]);
  }
  return out;
}

/**
 * A field value shared by more elements than this does not tell elements apart, and is not counted in
 * similarity (so pairing by similarity costs at most this per field of an element).
 */
const SIMILARITY_POSTING_LIMIT = 16;
/** Rounds of similarity pairing: an element whose best partner went to a better pair tries again. */
const SIMILARITY_ROUNDS = 3;

class Differ {
  readonly out: Difference[] = [];
  /** Of `out`, those at learned-noise paths, and the others (the real ones, which the cap bounds). */
  #setAside = 0;
  #real = 0;
  /** Arrays paired by an automatic key: signature path → key name; made with the first (most comparisons pair none). */
  autoKeyed: Map<string, string> | undefined;
  /** Per object signature and field name: the field's signature, quoted name, and whether it is skipped (worked out once, not per element). */
  #fields: Map<string, Map<string, FieldInfo>> | undefined;
  constructor(private readonly rules: CompiledDiffRules) {}

  add(path: string, kind: DifferenceKind, left?: unknown, right?: unknown): void {
    if (this.#real >= MAX_DIFFERENCES || this.rules.ignore.matches(path)) return;
    if (this.rules.setsAside && this.rules.setAside.matches(path)) {
      if (this.#setAside >= MAX_SET_ASIDE_DIFFERENCES) return;
      this.#setAside++;
    } else this.#real++;
    // Written out rather than spread: a spread of a conditional object per side copied properties at run time.
    const difference: { path: string; kind: DifferenceKind; left?: string; right?: string } = { path, kind };
    if (left !== undefined) difference.left = render(left);
    if (right !== undefined) difference.right = render(right);
    this.out.push(difference);
  }

  /** Two scalars of the same type (diff() compared the types first). */
  equalScalars(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (typeof a === "number") return Math.abs(a - (b as number)) <= this.rules.numericTolerance;
    if (typeof a === "string" && this.rules.timestampToleranceMs > 0 && ISO_TIMESTAMP.test(a) && ISO_TIMESTAMP.test(b as string)) {
      return Math.abs(Date.parse(a) - Date.parse(b as string)) <= this.rules.timestampToleranceMs;
    }
    return false;
  }

  diff(a: unknown, b: unknown, path: string): void {
    if (this.#real >= MAX_DIFFERENCES || this.rules.ignore.matches(path)) return;
    const ta = typeOf(a);
    const tb = typeOf(b);
    if (ta !== tb) return this.add(path, "type_changed", a, b);
    if (ta === "array") return this.diffArrays(a as unknown[], b as unknown[], path);
    if (ta === "object") return this.diffObjects(a as Record<string, unknown>, b as Record<string, unknown>, path);
    if (!this.equalScalars(a, b)) this.add(path, "changed", a, b);
  }

  diffObjects(a: Record<string, unknown>, b: Record<string, unknown>, path: string): void {
    /** Keys of `a` that `b` has too: when they are all of `b`'s, `b` added none. */
    let shared = 0;
    for (const key of Object.keys(a)) {
      const left = a[key];
      const right = b[key];
      // The same scalar on both sides (most fields of two answers that differ somewhere) holds no
      // difference: no path is written for it. (undefined is no JSON value: an absent key reads as one.)
      if (left === right && left !== undefined && !isContainer(left)) {
        // Stryker disable next-line UpdateOperator: equivalent — a count off by any amount only sends the added-key loop below to find nothing
        shared++;
        continue;
      }
      const p = childPath(path, key);
      // A field sent as null by one side and left out by the other is its own kind: many serialisers
      // differ only so, and a client that tests `field == null` cannot tell them apart.
      if (!Object.hasOwn(b, key)) this.add(p, left === null ? "null_vs_missing" : "removed", left);
      else {
        // Stryker disable next-line UpdateOperator: equivalent — as above
        shared++;
        this.diff(left, right, p);
      }
    }
    const keysOfB = Object.keys(b);
    // Stryker disable next-line ConditionalExpression: equivalent when false — a fast path: the loop finds no added key then
    if (shared === keysOfB.length) return;
    for (const key of keysOfB) if (!Object.hasOwn(a, key)) this.add(childPath(path, key), b[key] === null ? "null_vs_missing" : "added", undefined, b[key]);
  }

  /**
   * Arrays are paired element by element before anything is diffed, so each difference names the field
   * that really differs: by the rule's key; else by an automatic key (`keyNames`, unique on both sides);
   * else by identity, the element with its ignored and noise fields set aside; then the objects left over
   * by similarity (the most telling fields of the same value: see `pairBySimilarity`); what is still
   * unmatched last, by position between the matched ones. Order is reported (one `order` at the array) when paired
   * elements come in another order, except for `unordered` arrays and keyed ones without `ordered`.
   */
  diffArrays(a: unknown[], b: unknown[], path: string): void {
    // The same scalars in the same places (a list of tags, of ids) pair in place, by any rule, and differ nowhere.
    if (sameScalars(a, b)) return;
    const signature = signaturePath(path);
    const rule = this.rules.arrays.get(signature);
    if (rule?.key !== undefined) return this.diffByKey(a, b, path, rule.key, rule.ordered === true);
    if (!rule?.unordered && a.length + b.length > 0) {
      const auto = this.rules.keyNames.find((name) => uniquelyKeyed(a, name) && uniquelyKeyed(b, name));
      if (auto !== undefined) {
        (this.autoKeyed ??= new Map()).set(signature, auto);
        // An automatic key only pairs: without a rule, a JSON array's order still counts.
        return this.diffByKey(a, b, path, auto, true);
      }
    }
    this.diffByIdentity(a, b, path, `${signature}[*]`, rule?.unordered === true);
  }

  diffByKey(a: unknown[], b: unknown[], path: string, key: string, reportOrder: boolean): void {
    // A key whose type changed (`"id": "42"` for `"id": 42`) still names the same element: keys pair by
    // their text, and the paired elements' diff reports the key's `type_changed` (one signature, `…[*].id`).
    const keyOf = (e: unknown) => pairingKey(isPlainObject(e) ? e[key] : e);
    const right = new Map<string, number[]>();
    b.forEach((value, index) => {
      const k = keyOf(value);
      const queue = right.get(k);
      if (queue) queue.push(index);
      else right.set(k, [index]);
    });
    const taken = new Uint8Array(b.length);
    // Stryker disable next-line ArrayDeclaration: equivalent — a stray first entry compares as NaN, and the real pairs still compare with each other
    const pairs: Array<[number, number]> = [];
    a.forEach((value, index) => {
      const j = right.get(keyOf(value))?.shift();
      if (j === undefined) return this.add(childPath(path, index), "removed", value);
      taken[j] = 1;
      pairs.push([index, j]);
      this.diff(value, b[j], childPath(path, index));
    });
    b.forEach((value, j) => {
      if (!taken[j]) this.add(childPath(path, j), "added", undefined, value);
    });
    if (reportOrder && outOfOrder(pairs)) this.add(path, "order");
  }

  diffByIdentity(a: unknown[], b: unknown[], path: string, elementSignature: string, unordered: boolean): void {
    const ia = a.map((e) => this.identity(e, elementSignature));
    const ib = b.map((e) => this.identity(e, elementSignature));
    // The common case first: the same elements in the same places.
    // Stryker disable next-line all: a fast path — the general pairing below finds the same pairs, in place, with no gaps
    if (a.length === b.length && ia.every((id, i) => id === ib[i])) {
      // Equal but for set-aside fields: diff them in place, for the noise filter to see them.
      // Stryker disable next-line ConditionalExpression: equivalent when true — elements with the same identity and nothing set aside are equal
      if (this.rules.setsAside) for (let i = 0; i < a.length; i++) this.diff(a[i], b[i], childPath(path, i));
      return;
    }
    const right = new Map<string, number[]>();
    ib.forEach((id, j) => {
      const queue = right.get(id);
      if (queue) queue.push(j);
      else right.set(id, [j]);
    });
    const pairOf = new Int32Array(a.length).fill(-1);
    const taken = new Uint8Array(b.length);
    const pairs: Array<[number, number]> = [];
    ia.forEach((id, i) => {
      const j = right.get(id)?.shift();
      if (j === undefined) return;
      pairOf[i] = j;
      taken[j] = 1;
      pairs.push([i, j]);
    });
    // Objects left over are paired by the fields they share (a noisy score or signed URL in each element
    // defeats identity, not similarity), so a reordered list reads as one `order`, not every field changed.
    const similar = this.pairBySimilarity(a, b, pairOf, taken, elementSignature);
    const anchors = similar.length === 0 ? pairs : mergeByLeft(pairs, similar);
    const reordered = outOfOrder(anchors);
    if (reordered && !unordered) this.add(path, "order");
    // Stryker disable next-line ConditionalExpression: equivalent when true — paired elements with nothing set aside are equal
    if (this.rules.setsAside) for (const [i, j] of pairs) this.diff(a[i], b[j], childPath(path, i));
    for (const [i, j] of similar) this.diff(a[i], b[j], childPath(path, i));
    // What is left on each side: changed elements, or ones only one side has.
    const leftOver = (gapLeft: number[], gapRight: number[], pairValues: boolean) => {
      // Objects (or arrays) in the same gap, one for one, are one element changed: diff their fields.
      // So are values in the same place of an ordered array; in a set, a different value is one removed
      // and one added.
      const n = Math.min(gapLeft.length, gapRight.length);
      let k = 0;
      for (; k < n; k++) {
        const [i, j] = [gapLeft[k] as number, gapRight[k] as number];
        if (!pairValues && (!isContainer(a[i]) || !isContainer(b[j]))) break;
        this.diff(a[i], b[j], childPath(path, i));
      }
      for (let x = k; x < gapLeft.length; x++) this.add(childPath(path, gapLeft[x] as number), "removed", a[gapLeft[x] as number]);
      for (let x = k; x < gapRight.length; x++) this.add(childPath(path, gapRight[x] as number), "added", undefined, b[gapRight[x] as number]);
    };
    if (reordered) {
      // No gaps to speak of: the unmatched, in order, one for one.
      leftOver(
        ia.flatMap((_, i) => (pairOf[i] === -1 ? [i] : [])),
        ib.flatMap((_, j) => (taken[j] ? [] : [j])),
        false,
      );
      return;
    }
    // The matched elements are anchors; the unmatched between two anchors are paired with each other.
    let previousLeft = -1;
    let previousRight = -1;
    for (const [i, j] of [...anchors, [a.length, b.length] as [number, number]]) {
      const gapLeft: number[] = [];
      for (let x = previousLeft + 1; x < i; x++) gapLeft.push(x);
      const gapRight: number[] = [];
      for (let y = previousRight + 1; y < j; y++) gapRight.push(y);
      // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent — an empty gap leaves nothing over
      if (gapLeft.length + gapRight.length > 0) leftOver(gapLeft, gapRight, !unordered);
      previousLeft = i;
      previousRight = j;
    }
  }

  /** The fields seen so far of objects at `signature` (worked out once per name, not per element). */
  #fieldsOf(signature: string): Map<string, FieldInfo> {
    const known = (this.#fields ??= new Map());
    let fields = known.get(signature);
    // Stryker disable next-line ConditionalExpression: equivalent — a cache: rebuilding it gives the same fields
    if (!fields) {
      fields = new Map();
      known.set(signature, fields);
    }
    return fields;
  }

  /**
   * Pairs the objects that identity left unpaired by the fields they share: each left element's best
   * partner is the unpaired right element with the most fields of the same value (ignored and noise fields
   * not counted), the nearer in place on a tie; the best-scoring pairs are taken first, for a few rounds
   * while some element lost its best partner to a better pair. A field value that more than
   * `SIMILARITY_POSTING_LIMIT` elements share (a `"type": "book"` in every element) says nothing about
   * which is which and is not counted, so the cost is linear in the elements' fields, whatever the array's
   * size. Elements sharing no counted field stay unpaired (positional pairing or removed/added, as before).
   * Marks the pairs in `pairOf` and `taken`; returns them in left order.
   */
  pairBySimilarity(a: readonly unknown[], b: readonly unknown[], pairOf: Int32Array, taken: Uint8Array, elementSignature: string): Array<[number, number]> {
    let lefts: number[] = [];
    for (let i = 0; i < a.length; i++) if (pairOf[i] === -1 && isPlainObject(a[i])) lefts.push(i);
    if (lefts.length === 0) return [];
    const postings = new Map<string, number[]>();
    let rights = 0;
    for (let j = 0; j < b.length; j++) {
      if (taken[j] || !isPlainObject(b[j])) continue;
      rights++;
      for (const text of this.#fieldTexts(b[j] as Record<string, unknown>, elementSignature)) {
        const list = postings.get(text);
        if (list) list.push(j);
        else postings.set(text, [j]);
      }
    }
    if (rights === 0) return [];
    const leftTexts = new Map<number, string[]>();
    for (const i of lefts) leftTexts.set(i, this.#fieldTexts(a[i] as Record<string, unknown>, elementSignature));
    const score = new Int32Array(b.length);
    const touched: number[] = [];
    const pairs: Array<[number, number]> = [];
    for (let round = 0; round < SIMILARITY_ROUNDS && lefts.length > 0; round++) {
      const candidates: Array<{ readonly i: number; readonly j: number; readonly score: number; readonly distance: number }> = [];
      for (const i of lefts) {
        for (const text of leftTexts.get(i) as string[]) {
          const list = postings.get(text);
          if (list === undefined || list.length > SIMILARITY_POSTING_LIMIT) continue;
          for (const j of list) {
            if (taken[j]) continue;
            if (score[j] === 0) touched.push(j);
            score[j] = (score[j] as number) + 1;
          }
        }
        let best = -1;
        let bestScore = 0;
        for (const j of touched) {
          const s = score[j] as number;
          if (s > bestScore || (s === bestScore && Math.abs(j - i) < Math.abs(best - i))) [best, bestScore] = [j, s];
          score[j] = 0;
        }
        touched.length = 0;
        if (best !== -1) candidates.push({ i, j: best, score: bestScore, distance: Math.abs(best - i) });
      }
      if (candidates.length === 0) break;
      candidates.sort((x, y) => y.score - x.score || x.distance - y.distance || x.i - y.i);
      for (const c of candidates) {
        if (taken[c.j]) continue;
        taken[c.j] = 1;
        pairOf[c.i] = c.j;
        pairs.push([c.i, c.j]);
      }
      lefts = lefts.filter((i) => pairOf[i] === -1);
    }
    return pairs.sort((x, y) => x[0] - y[0]);
  }

  /** An object's counted fields as `"name":value` texts (ignored and noise fields left out), for similarity. */
  #fieldTexts(value: Record<string, unknown>, signature: string): string[] {
    const fields = this.#fieldsOf(signature);
    const texts: string[] = [];
    for (const k of Object.keys(value)) {
      const field = fieldOf(fields, signature, k, this.rules);
      if (!field.skipped) texts.push(`${field.quoted}:${canonical(value[k])}`);
    }
    return texts;
  }

  /** An element's identity: its canonical form, less the fields that are ignored or set aside. */
  identity(value: unknown, signature: string): string {
    if (!this.rules.skipsFields || !isContainer(value)) return canonical(value);
    if (Array.isArray(value)) return `[${value.map((e) => this.identity(e, `${signature}[*]`)).join(",")}]`;
    const fields = this.#fieldsOf(signature);
    // Stryker disable next-line StringLiteral: equivalent — both sides' identities are built alike; the brace is for a reader
    let text = "{";
    for (const k of Object.keys(value).sort()) {
      const field = fieldOf(fields, signature, k, this.rules);
      if (field.skipped) continue;
      // Stryker disable next-line all: equivalent — keys and values are JSON-quoted, so the identity is unambiguous with or without commas
      if (text.length > 1) text += ",";
      text += `${field.quoted}:${this.identity((value as Record<string, unknown>)[k], field.signature)}`;
    }
    return `${text}}`;
  }
}

/** The automatic keys of a comparison that paired no array by one (most of them). */
const NONE_KEYED: ReadonlyMap<string, string> = new Map();

/**
 * Structural differences between two JSON values, legacy (left) against target (right). Pure; stops
 * after 500 real differences (those at learned-noise paths counted apart, up to 5,000).
 */
export function diffJson(left: unknown, right: unknown, rules: CompiledDiffRules): Difference[] {
  return diffJsonExplained(left, right, rules).differences;
}

/** `diffJson`, and which arrays were paired by an automatic key (signature path → key name). */
export function diffJsonExplained(left: unknown, right: unknown, rules: CompiledDiffRules): { differences: Difference[]; autoKeyed: ReadonlyMap<string, string> } {
  const differ = new Differ(rules);
  differ.diff(left, right, "$");
  return { differences: differ.out, autoKeyed: differ.autoKeyed ?? NONE_KEYED };
}
