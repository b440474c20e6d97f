import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * Node defines `Buffer`, `process` and `performance` on globalThis as accessors (a getter that returns
 * the module's object, so that a program may replace them). Every use through the global calls that
 * getter: under callgrind ~150 instructions an access on Node 24 and 20 (`Buffer.isBuffer` 256 against
 * 107 imported; `performance.now()` 677 against 500), and the shadowed request read the clock alone
 * nine times through it (`npm run bench:instructions`, docs/performance.md). Imported from their
 * modules, they are a module binding's load. So every module of src/ that uses one of them as a value
 * imports it; types cost nothing and need no import.
 */
const MODULES = { Buffer: "node:buffer", process: "node:process", performance: "node:perf_hooks" } as const;
type NodeGlobal = keyof typeof MODULES;

/** The code without its comments, roughly (a `//` inside a string literal is kept when a quote precedes it). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** The globals a module uses as values without importing them. */
export function unimportedGlobals(text: string): NodeGlobal[] {
  const code = withoutComments(text);
  const missing: NodeGlobal[] = [];
  for (const name of Object.keys(MODULES) as NodeGlobal[]) {
    // A member, a call or an index (not a type's `[]`), or the right of instanceof.
    const used = new RegExp(`(^|[^.\\w$])${name}\\s*([.(]|\\[(?!\\]))|instanceof\\s+${name}\\b`, "m").test(code);
    if (!used) continue;
    const from = MODULES[name].replace("/", "\\/");
    const named = new RegExp(`import\\s*\\{[^}]*\\b${name}\\b[^}]*\\}\\s*from\\s*"${from}"`).test(text);
    const asDefault = new RegExp(`import\\s+${name}\\s+from\\s*"${from}"`).test(text);
    if (!named && !asDefault) missing.push(name);
  }
  return missing;
}

describe("Node's accessor globals", () => {
  it("finds a use through the global, and accepts the imported forms (named, or process's default)", () => {
    expect(unimportedGlobals("const b = Buffer.from('x');")).toEqual(["Buffer"]);
    expect(unimportedGlobals("if (x instanceof Buffer) f();")).toEqual(["Buffer"]);
    expect(unimportedGlobals("const t = performance.now();\nprocess.exitCode = 1;")).toEqual(["process", "performance"]);
    expect(unimportedGlobals('import { Buffer } from "node:buffer";\nBuffer.alloc(1);')).toEqual([]);
    expect(unimportedGlobals('import process from "node:process";\nprocess.on("exit", f);')).toEqual([]);
    expect(unimportedGlobals('import { performance } from "node:perf_hooks";\nperformance.now();')).toEqual([]);
    // Types, other objects' fields and comments are not uses.
    expect(unimportedGlobals("function f(b: Buffer): Buffer[] { return [b]; }")).toEqual([]);
    expect(unimportedGlobals("const n = options.performance.now(); const p = ctx.process(1);")).toEqual([]);
    expect(unimportedGlobals("// Buffer.from would copy\n/** performance.now() */\nconst x = 1;")).toEqual([]);
  });

  it("every module of src/ imports the ones it uses", () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const files = readdirSync(`${root}/src`, { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts") && !file.includes(".test."))
      .map((file) => `src/${file}`);
    expect(files.length).toBeGreaterThan(50);
    const offenders = files.flatMap((file) => unimportedGlobals(readFileSync(`${root}/${file}`, "utf8")).map((name) => `${file}: ${name} (import it from "${MODULES[name]}")`));
    expect(offenders).toEqual([]);
  });
});
