/**
 * `npm run build`: the proxy's sources (src/) compiled to JavaScript in dist/ (tsconfig.build.json), the
 * module layout kept, with the files src/ reads at run time beside the modules that read them (the
 * dashboard's stylesheet and scripts). Production runs dist/ (`npm start`, bin/strangler.js, the
 * Dockerfile, the demo's proxy); tsx stays for tests and development.
 *
 * Incremental (dist/.tsbuildinfo): a build with nothing changed takes about 2 s, a first one about 7 s.
 * `--out-dir DIR` builds elsewhere (the tests that run the built proxy build into a temp dir).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const DEFAULT_OUT_DIR = join(ROOT, "dist");

/** The non-TypeScript files under src/ that modules read at run time, relative to src/. */
export function runtimeAssets(): string[] {
  const dashboard = join(ROOT, "src/admin/dashboard");
  return readdirSync(dashboard)
    .filter((name) => name.endsWith(".css") || name.endsWith(".js"))
    .map((name) => relative(join(ROOT, "src"), join(dashboard, name)));
}

/** Compiles src/ into `outDir` and copies the runtime assets; throws with tsc's output if it fails. */
export function build(outDir: string = DEFAULT_OUT_DIR): void {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const args = [tsc, "-p", join(ROOT, "tsconfig.build.json")];
  if (resolve(outDir) !== DEFAULT_OUT_DIR) args.push("--outDir", outDir, "--tsBuildInfoFile", join(outDir, ".tsbuildinfo"));
  try {
    execFileSync(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`npm run build: tsc failed\n${stdout?.toString() ?? ""}${stderr?.toString() ?? ""}`);
  }
  for (const asset of runtimeAssets()) {
    mkdirSync(dirname(join(outDir, asset)), { recursive: true });
    copyFileSync(join(ROOT, "src", asset), join(outDir, asset));
  }
  // Written last: what bin/strangler.js compares with the sources' times to tell a fresh build from a stale one.
  writeFileSync(join(outDir, ".built"), `${new Date().toISOString()}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf("--out-dir");
  const outDir = at > 0 && process.argv[at + 1] ? resolve(process.argv[at + 1] as string) : DEFAULT_OUT_DIR;
  try {
    build(outDir);
    console.log(`built ${relative(process.cwd(), outDir) || "."}`);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
