#!/usr/bin/env node
// The `strangler` command: the compiled CLI (`npm run build`'s dist/). In a development checkout whose
// sources are newer than dist/ (or never built), it runs the TypeScript sources through tsx instead, so
// it never runs stale code and never races a build it would have to start.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const compiled = join(root, "dist/cli/strangler.js");
const sources = join(root, "src");

/** The newest modification time under `dir`, in ms (about 150 files: a millisecond or two). */
function newestUnder(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const fresh = existsSync(compiled) && (!existsSync(sources) || (statSync(join(root, "dist/.built"), { throwIfNoEntry: false })?.mtimeMs ?? 0) >= newestUnder(sources));
if (fresh) {
  await import(compiled);
} else {
  const tsx = await import("tsx/esm/api").catch(() => {
    console.error("strangler: dist/ is missing or older than src/, and tsx (a development dependency) is not installed: run npm run build");
    process.exit(1);
  });
  tsx.register();
  await import("../src/cli/strangler.ts");
}
