/**
 * JSON paths as the comparer writes them: `$`, `$.items`, `$.items[3].price`, `$["odd key"]`.
 * A signature path replaces every index with `[*]` (`$.items[*].price`), so one field that differs in
 * every element of a list is one divergence, not one per element. Patterns in config (ignore lists,
 * array rules, redaction) are signature paths where `*` also stands for any one key: `$.*.updatedAt`.
 */
/**
 * Whether a key is written `.key` (an identifier: `[A-Za-z_$][A-Za-z0-9_$]*`) rather than `["key"]`.
 * Scanned by hand: a regular expression's test cost the comparer ~300 instructions a field.
 */
function isSimpleKey(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const letter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x24;
    if (!letter && (i === 0 || c < 0x30 || c > 0x39)) return false;
  }
  return true;
}

export function childPath(parent: string, key: string | number): string {
  // An index (isSimpleKey reads strings only).
  if (typeof key === "number") return `${parent}[${key}]`;
  return isSimpleKey(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

/** `$.items[3].tags[0]` → `$.items[*].tags[*]`. */
export function signaturePath(path: string): string {
  // A path with no brackets (most fields of an object) is its own signature: no regular expression run.
  return path.includes("[") ? path.replace(/\[\d+\]/g, "[*]") : path;
}

/** Splits a path into its steps: `$.a[*]["b c"]` → ["a", "*", "b c"]. */
function steps(path: string): string[] | undefined {
  if (!path.startsWith("$")) return undefined;
  // Stryker disable next-line ArrayDeclaration: equivalent — a step added in front of every path shifts pattern and path alike
  const out: string[] = [];
  const re = /\.([A-Za-z_$*][A-Za-z0-9_$]*)|\[(\*|\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) return undefined;
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push("*"); // an index matches as [*]
    else out.push(JSON.parse(m[3] as string) as string);
  }
  return out;
}

/** True when `pattern` is a valid path pattern. */
export function isPathPattern(pattern: string): boolean {
  return steps(pattern) !== undefined;
}

/** A compiled set of path patterns, tested against concrete or signature paths. */
export interface PathMatcher {
  matches(path: string): boolean;
}

/** Compiles patterns once; `*` in a pattern matches any one key or index. */
export function compilePathPatterns(patterns: readonly string[]): PathMatcher {
  const compiled = patterns.map((p) => steps(p)).filter((s): s is string[] => s !== undefined);
  // Stryker disable next-line all: a fast path — config validation admits only valid patterns, and each one in this set also matches step by step below
  const exact = new Set(patterns.filter((p) => !p.includes("*")).map(signaturePath));
  return {
    matches(path) {
      // Stryker disable next-line ConditionalExpression: a fast path — with no patterns, some() below is false as well
      if (compiled.length === 0) return false;
      const signature = signaturePath(path);
      // Stryker disable next-line ConditionalExpression: a fast path — an exact pattern also matches step by step below
      if (exact.has(signature)) return true;
      const target = steps(signature);
      if (!target) return false;
      return compiled.some((pattern) => pattern.length === target.length && pattern.every((step, i) => step === "*" || step === target[i]));
    },
  };
}
