import { readFileSync } from "node:fs";
import ts from "typescript";
import type { z } from "zod";

/**
 * The configuration reference, read from the config schema itself: every key's type, default and bounds
 * from the zod schema the proxy validates with (src/config/schema.ts), and its description from the
 * comment above it in that file's source. So the page cannot say what the code does not do.
 */

/** One key of the configuration, as the reference lists it. */
export interface ConfigKey {
  /** Dotted path from the file's top level: `routes[].shadow.percent`, `backends.<name>.url`. */
  readonly path: string;
  readonly type: string;
  /** The default as JSON, or undefined when the key has none (required, or optional and off when absent). */
  readonly defaultValue: string | undefined;
  readonly required: boolean;
  /** Bounds of a number (`1 ≤ n ≤ 10000`, `> 0`), else empty. */
  readonly bounds: string;
  readonly description: string;
  /** Marked `@limit` in its comment: a bound the proxy holds though its name does not say so (a list's length, a version floor). */
  readonly limit: boolean;
}

// zod 4 keeps each schema's definition on `_zod.def`; this reads the few fields the reference needs.
interface Def {
  readonly type: string;
  readonly innerType?: Schema;
  readonly defaultValue?: unknown;
  readonly shape?: Record<string, Schema>;
  readonly element?: Schema;
  readonly valueType?: Schema;
  readonly options?: readonly Schema[];
  readonly entries?: Record<string, string>;
  readonly values?: readonly unknown[];
  readonly checks?: ReadonlyArray<{ readonly _zod: { readonly def: { readonly check: string; readonly value?: number; readonly inclusive?: boolean; readonly format?: string } } }>;
  readonly format?: string;
  readonly in?: Schema;
}
interface Schema {
  readonly _zod: { readonly def: Def };
}

const defOf = (schema: z.ZodType | Schema): Def => (schema as unknown as Schema)._zod.def;

/** The schema under its wrappers, with what they say: a default, a prefault (an object filled in), optional. */
function unwrap(schema: Schema): { core: Schema; defaultValue: unknown; hasDefault: boolean; optional: boolean; filledIn: boolean } {
  let core = schema;
  let defaultValue: unknown;
  let hasDefault = false;
  let optional = false;
  let filledIn = false;
  for (;;) {
    const def = defOf(core);
    if (def.type === "default" && def.innerType) {
      if (!hasDefault) {
        hasDefault = true;
        defaultValue = typeof def.defaultValue === "function" ? (def.defaultValue as () => unknown)() : def.defaultValue;
      }
      core = def.innerType;
    } else if (def.type === "prefault" && def.innerType) {
      filledIn = true;
      core = def.innerType;
    } else if ((def.type === "optional" || def.type === "nullable") && def.innerType) {
      optional = true;
      core = def.innerType;
    } else if (def.type === "pipe" && def.in) core = def.in;
    else return { core, defaultValue, hasDefault, optional, filledIn };
  }
}

/** A number's type and bounds; `bytes` when the key is a size in bytes (its bounds also written in KiB or MiB). */
function numberFacts(def: Def, bytes = false): { type: string; bounds: string } {
  let integer = false;
  let low: string | undefined;
  let high: string | undefined;
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.check === "number_format" && (c.format === "safeint" || c.format === "int32")) integer = true;
    if (c.check === "greater_than") low = `${c.inclusive ? "≥" : ">"} ${formatNumber(c.value as number, bytes)}`;
    if (c.check === "less_than") high = `${c.inclusive ? "≤" : "<"} ${formatNumber(c.value as number, bytes)}`;
  }
  return { type: integer ? "integer" : "number", bounds: [low, high].filter(Boolean).join(", ") };
}

export function formatNumber(n: number, bytes: boolean): string {
  if (!bytes) return String(n);
  if (Number.isInteger(n) && n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n} (${n / (1024 * 1024)} MiB)`;
  if (Number.isInteger(n) && n >= 1024 && n % 1024 === 0 && n % 1000 !== 0) return `${n} (${n / 1024} KiB)`;
  return String(n);
}

/** A short name for a schema's type. */
function typeName(schema: Schema): string {
  const { core } = unwrap(schema);
  const def = defOf(core);
  switch (def.type) {
    case "number":
      return numberFacts(def).type;
    case "string":
      return def.format ? `string (${def.format})` : "string";
    case "enum":
      return Object.values(def.entries ?? {})
        .map((v) => JSON.stringify(v))
        .join(" \\| ");
    case "literal":
      return (def.values ?? []).map((v) => JSON.stringify(v)).join(" \\| ");
    case "array":
      return `array of ${def.element ? typeName(def.element) : "?"}`;
    case "record":
      return "map of name → object";
    case "union":
      return (def.options ?? []).map(typeName).join(" \\| ");
    default:
      return def.type;
  }
}

// The source side: each z.object's literal, its keys' comments, and where each key's own schema is written.

interface SourceIndex {
  readonly file: ts.SourceFile;
  /** Top-level consts by name: their initializer, and their statement (for its comment). */
  readonly consts: ReadonlyMap<string, { readonly init: ts.Expression; readonly statement: ts.Node }>;
}

function indexSource(path: string): SourceIndex {
  const file = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
  const consts = new Map<string, { init: ts.Expression; statement: ts.Node }>();
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (ts.isIdentifier(declaration.name) && declaration.initializer) consts.set(declaration.name.text, { init: declaration.initializer, statement });
    }
  }
  return { file, consts };
}

const LIMIT_TAG = "@limit";

/** The last `/** … *\/` comment right before a node, as plain text; of its tags only `@limit` is kept (see `ConfigKey.limit`). */
function commentBefore(node: ts.Node, file: ts.SourceFile): string {
  const ranges = ts.getLeadingCommentRanges(file.text, node.getFullStart()) ?? [];
  const doc = ranges.filter((r) => file.text.startsWith("/**", r.pos)).at(-1);
  if (!doc) return "";
  return file.text
    .slice(doc.pos + 3, doc.end - 2)
    .split("\n")
    .map((line) => line.replace(/^\s*\*\s?/, "").trim())
    .filter((line) => line !== "" && (!line.startsWith("@") || line === LIMIT_TAG))
    .join(" ");
}

/**
 * Where an expression's object literal is (the argument of the z.object or z.strictObject it builds, through
 * method chains, z.array and z.record, and consts of the same file), and the comment of the const it came
 * through, if any.
 */
function objectLiteralOf(expression: ts.Expression | undefined, index: SourceIndex, seen = new Set<string>()): { literal: ts.ObjectLiteralExpression | undefined; constComment: string } {
  let constComment = "";
  let found: ts.ObjectLiteralExpression | undefined;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isIdentifier(node) && index.consts.has(node.text) && !seen.has(node.text)) {
      seen.add(node.text);
      const target = index.consts.get(node.text) as { init: ts.Expression; statement: ts.Node };
      const inner = objectLiteralOf(target.init, index, seen);
      if (inner.literal) {
        found = inner.literal;
        constComment ||= inner.constComment || commentBefore(target.statement, index.file);
      } else constComment ||= commentBefore(target.statement, index.file);
      return;
    }
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : "";
      if ((name === "object" || name === "strictObject") && node.arguments[0] && ts.isObjectLiteralExpression(node.arguments[0])) {
        found = node.arguments[0];
        return;
      }
      // The schema being wrapped first (z.strictObject({…}).default(…)), then the arguments (z.array(x), z.record(k, v)).
      visit(callee);
      for (const argument of [...node.arguments].reverse()) visit(argument);
      return;
    }
    if (ts.isPropertyAccessExpression(node)) return visit(node.expression);
  };
  if (expression) visit(expression);
  return { literal: found, constComment };
}

/** A literal's keys: each one's comment and the expression of its schema. */
function keysOf(literal: ts.ObjectLiteralExpression | undefined, index: SourceIndex): Map<string, { comment: string; expression: ts.Expression }> {
  const keys = new Map<string, { comment: string; expression: ts.Expression }>();
  for (const property of literal?.properties ?? []) {
    if (!ts.isPropertyAssignment(property)) continue;
    const name = ts.isIdentifier(property.name) || ts.isStringLiteral(property.name) ? property.name.text : property.name.getText(index.file);
    keys.set(name, { comment: commentBefore(property, index.file), expression: property.initializer });
  }
  return keys;
}

function walk(schema: Schema, path: string, source: ts.Expression | undefined, comment: string, index: SourceIndex, rows: ConfigKey[], optionalParent: boolean): void {
  const { core, defaultValue, hasDefault, optional, filledIn } = unwrap(schema);
  const def = defOf(core);
  const fromSource = objectLiteralOf(source, index);
  const text = comment || fromSource.constComment;
  const limit = text.split(" ").includes(LIMIT_TAG);
  const description = limit ? text.split(" ").filter((word) => word !== LIMIT_TAG).join(" ") : text;
  if (path !== "") {
    const facts = def.type === "number" ? numberFacts(def, path.endsWith("Bytes")) : { type: typeName(core), bounds: "" };
    rows.push({
      path,
      type: facts.type,
      defaultValue: hasDefault ? JSON.stringify(defaultValue) : undefined,
      required: !optional && !hasDefault && !filledIn && !optionalParent,
      bounds: facts.bounds,
      description,
      limit,
    });
  }
  const childOptional = optionalParent || optional;
  if (def.type === "object") walkChildren(core, path, fromSource.literal, index, rows, childOptional);
  else if (def.type === "array" && def.element && defOf(unwrap(def.element).core).type === "object") {
    walkChildren(unwrap(def.element).core, `${path}[]`, fromSource.literal, index, rows, childOptional);
  } else if (def.type === "record" && def.valueType && defOf(unwrap(def.valueType).core).type === "object") {
    walkChildren(unwrap(def.valueType).core, `${path}.<name>`, fromSource.literal, index, rows, childOptional);
  }
}

/** The keys of an object schema (reached directly, or through an array or a record), with the literal that writes them. */
function walkChildren(object: Schema, path: string, literal: ts.ObjectLiteralExpression | undefined, index: SourceIndex, rows: ConfigKey[], optionalParent: boolean): void {
  const keys = keysOf(literal, index);
  for (const [key, child] of Object.entries(defOf(object).shape ?? {})) {
    const sourceKey = keys.get(key);
    walk(child, path === "" ? key : `${path}.${key}`, sourceKey?.expression, sourceKey?.comment ?? "", index, rows, optionalParent);
  }
}

/** Every key of the configuration, in the schema's order, from `schema` (the config schema) and its source file. */
export function configKeys(schema: z.ZodType, sourcePath: string, sourceConst: string): ConfigKey[] {
  const index = indexSource(sourcePath);
  const rows: ConfigKey[] = [];
  walk(schema as unknown as Schema, "", index.consts.get(sourceConst)?.init, "", index, rows, false);
  return rows;
}
