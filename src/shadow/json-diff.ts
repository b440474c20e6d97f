import { childPath, compilePathPatterns, signaturePath, type PathMatcher } from "../json/json-path.ts";

/** What differs at a path, seen from the legacy side (left) to the target side (right). */
export type DifferenceKind = "changed" | "type_changed" | "added" | "removed" | "order" | "status" | "error";

export interface Difference {
  /** Concrete path, e.g. `$.items[3].price`. */
  readonly path: string;
  readonly kind: DifferenceKind;
  /** Short renderings of both values (absent for added/removed sides). */
  readonly left?: string;
  readonly right?: string;
}

/** How to compare two JSON documents of a route. */
export interface DiffRules {
  /** Paths whose differences do not count (signature patterns, `*` for any key). */
  readonly ignore?: readonly string[];
  /** Arrays matched by a key field (`{ path: "$.items", key: "id" }`) or compared as sets (`{ path, unordered: true }`). */
  readonly arrays?: ReadonlyArray<{ readonly path: string; readonly key?: string; readonly unordered?: boolean }>;
  /** Numbers that differ by at most this much are equal. */
  readonly numericTolerance?: number;
  /** ISO-8601 timestamps that differ by at most this many milliseconds are equal. */
  readonly timestampToleranceMs?: number;
}

/** Rules compiled once per route. */
export interface CompiledDiffRules {
  readonly ignore: PathMatcher;
  readonly arrays: ReadonlyMap<string, { readonly key?: string; readonly unordered?: boolean }>;
  readonly numericTolerance: number;
  readonly timestampToleranceMs: number;
}

export function compileDiffRules(rules: DiffRules = {}): CompiledDiffRules {
  return {
    ignore: compilePathPatterns(rules.ignore ?? []),
    arrays: new Map((rules.arrays ?? []).map((a) => [signaturePath(a.path), { key: a.key, unordered: a.unordered }])),
    numericTolerance: rules.numericTolerance ?? 0,
    timestampToleranceMs: rules.timestampToleranceMs ?? 0,
  };
}

const MAX_RENDER = 120;
/** Differences kept per comparison: past this the documents are simply different everywhere. */
const MAX_DIFFERENCES = 500;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function render(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_RENDER ? `${text.slice(0, MAX_RENDER - 1)}…` : text;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** A stable text form of a value (object keys sorted), for set and order comparisons. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
}

class Differ {
  readonly out: Difference[] = [];
  constructor(private readonly rules: CompiledDiffRules) {}

  add(path: string, kind: DifferenceKind, left?: unknown, right?: unknown): void {
    if (this.out.length >= MAX_DIFFERENCES || this.rules.ignore.matches(path)) return;
    this.out.push({ path, kind, ...(left !== undefined ? { left: render(left) } : {}), ...(right !== undefined ? { right: render(right) } : {}) });
  }

  equalScalars(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (typeof a === "number" && typeof b === "number") return Math.abs(a - b) <= this.rules.numericTolerance;
    if (typeof a === "string" && typeof b === "string" && this.rules.timestampToleranceMs > 0 && ISO_TIMESTAMP.test(a) && ISO_TIMESTAMP.test(b)) {
      return Math.abs(Date.parse(a) - Date.parse(b)) <= this.rules.timestampToleranceMs;
    }
    return false;
  }

  diff(a: unknown, b: unknown, path: string): void {
    if (this.out.length >= MAX_DIFFERENCES || this.rules.ignore.matches(path)) return;
    const ta = typeOf(a);
    const tb = typeOf(b);
    if (ta !== tb) return this.add(path, "type_changed", a, b);
    if (ta === "array") return this.diffArrays(a as unknown[], b as unknown[], path);
    if (ta === "object") return this.diffObjects(a as Record<string, unknown>, b as Record<string, unknown>, path);
    if (!this.equalScalars(a, b)) this.add(path, "changed", a, b);
  }

  diffObjects(a: Record<string, unknown>, b: Record<string, unknown>, path: string): void {
    for (const key of Object.keys(a)) {
      const p = childPath(path, key);
      if (!Object.hasOwn(b, key)) this.add(p, "removed", a[key]);
      else this.diff(a[key], b[key], p);
    }
    for (const key of Object.keys(b)) if (!Object.hasOwn(a, key)) this.add(childPath(path, key), "added", undefined, b[key]);
  }

  diffArrays(a: unknown[], b: unknown[], path: string): void {
    const rule = this.rules.arrays.get(signaturePath(path));
    if (rule?.key !== undefined) return this.diffByKey(a, b, path, rule.key);
    if (rule?.unordered) return this.diffAsSets(a, b, path);
    if (a.length === b.length) {
      const ca = a.map(canonical);
      const cb = b.map(canonical);
      if (ca.every((c, i) => c === cb[i])) return;
      if ([...ca].sort().join("\u0000") === [...cb].sort().join("\u0000")) return this.add(path, "order");
    }
    const common = Math.min(a.length, b.length);
    for (let i = 0; i < common; i++) this.diff(a[i], b[i], childPath(path, i));
    for (let i = common; i < a.length; i++) this.add(childPath(path, i), "removed", a[i]);
    for (let i = common; i < b.length; i++) this.add(childPath(path, i), "added", undefined, b[i]);
  }

  diffByKey(a: unknown[], b: unknown[], path: string, key: string): void {
    const keyOf = (e: unknown) => (e !== null && typeof e === "object" ? canonical((e as Record<string, unknown>)[key]) : canonical(e));
    const right = new Map<string, { value: unknown; index: number }>();
    b.forEach((value, index) => right.set(keyOf(value), { value, index }));
    const matchedOrder: number[] = [];
    a.forEach((value, index) => {
      const k = keyOf(value);
      const other = right.get(k);
      if (!other) return this.add(childPath(path, index), "removed", value);
      right.delete(k);
      matchedOrder.push(other.index);
      this.diff(value, other.value, childPath(path, index));
    });
    for (const { value, index } of right.values()) this.add(childPath(path, index), "added", undefined, value);
    if (matchedOrder.some((v, i) => i > 0 && v < (matchedOrder[i - 1] as number))) this.add(path, "order");
  }

  diffAsSets(a: unknown[], b: unknown[], path: string): void {
    const counts = new Map<string, number>();
    for (const e of b) counts.set(canonical(e), (counts.get(canonical(e)) ?? 0) + 1);
    a.forEach((e, i) => {
      const c = canonical(e);
      const n = counts.get(c) ?? 0;
      if (n === 0) this.add(childPath(path, i), "removed", e);
      else counts.set(c, n - 1);
    });
    const remaining = new Map(counts);
    b.forEach((e, i) => {
      const c = canonical(e);
      const n = remaining.get(c) ?? 0;
      if (n > 0) {
        remaining.set(c, n - 1);
        this.add(childPath(path, i), "added", undefined, e);
      }
    });
  }
}

/**
 * Structural differences between two JSON values, legacy (left) against target (right). Pure; stops
 * after 500 differences.
 */
export function diffJson(left: unknown, right: unknown, rules: CompiledDiffRules): Difference[] {
  const differ = new Differ(rules);
  differ.diff(left, right, "$");
  return differ.out;
}
