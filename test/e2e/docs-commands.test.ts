import { execFile, type ExecFileOptions } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { markdownFiles } from "../../scripts/docs/markdown-links.ts";
import { onDemoPorts, shellBlocks, type ShellBlock } from "../../scripts/docs/shell-blocks.ts";
import { startDemoCommand, type RunningDemoCommand } from "../helpers/demo-command.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

/**
 * Every shell block in the README and docs/, run as written against the demo: a renamed flag, command or
 * endpoint fails here instead of in a newcomer's terminal. Each page gets a fresh demo on free ports (the
 * pages' 8080, 9901, 3001-3003 rewritten to them) and runs its blocks in order, as a reader would, from a
 * checkout of its own (the repository's entries linked into a temp dir, so what a block writes lands
 * there). `curl` fails on an HTTP error (--fail-with-body) and every block runs under `set -eo pipefail`:
 * a command that only prints an error counts as failing. Blocks marked `<!-- not run: why -->` are skipped.
 */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DEMO_PORTS = { proxy: 8080, admin: 9901, legacy: 3001, catalog: 3002, orders: 3003 } as const;
const BLOCK_TIMEOUT_MS = 150_000;
/** Where a page's story leaves the demo's routes, as its comments tell the reader. */
const STORY_ENDS: Record<string, Record<string, string>> = {
  "README.md": { "order-detail": "migrated", "products-list": "migrated" },
  "docs/guardrails.md": { "order-detail": "migrated" },
};

const pages = new Map<string, ShellBlock[]>();
for (const file of markdownFiles(ROOT)) {
  const blocks = shellBlocks(file, readFileSync(join(ROOT, file), "utf8")).filter((b) => b.notRun === undefined);
  if (blocks.length > 0) pages.set(file, blocks);
}

const temp = makeTempDir("strangler-docs-commands-");
beforeAll(() => {
  // curl as the pages call it, but failing on an HTTP error status with the body printed.
  mkdirSync(join(temp.dir, "bin"));
  writeFileSync(join(temp.dir, "bin", "curl"), '#!/bin/sh\nexec /usr/bin/curl --fail-with-body "$@"\n');
  chmodSync(join(temp.dir, "bin", "curl"), 0o755);
});
afterAll(() => temp.remove());

/** A checkout of its own: every top-level entry of the repository linked, but for git and the demo's data. */
function checkout(name: string): string {
  const dir = join(temp.dir, name);
  mkdirSync(dir);
  for (const entry of readdirSync(ROOT)) {
    if (entry !== ".git" && entry !== "data") symlinkSync(join(ROOT, entry), join(dir, entry));
  }
  return dir;
}

/** The pages' fixed ports mapped to the running demo's, node by node for a fleet (8080-8082, 9901-9903). */
function portsOf(demo: RunningDemoCommand): Map<number, number> {
  const port = (url: string): number => Number(new URL(url).port);
  const ports = new Map<number, number>([
    [DEMO_PORTS.legacy, port(demo.legacy)],
    [DEMO_PORTS.catalog, port(demo.catalog)],
    [DEMO_PORTS.orders, port(demo.orders)],
  ]);
  demo.nodes.forEach((node, i) => {
    ports.set(DEMO_PORTS.proxy + i, port(node.url));
    ports.set(DEMO_PORTS.admin + i, port(node.admin));
  });
  return ports;
}

/** Runs a command to its end: its exit code (1 when it could not start or timed out) and its stdout and stderr. */
function run(command: string, args: string[], options: ExecFileOptions): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024, ...options }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, output: `${String(stdout)}${String(stderr)}` }),
    );
  });
}

function runBlock(script: string, cwd: string, demo: RunningDemoCommand): Promise<{ code: number; output: string }> {
  const first = demo.nodes[0] as { url: string; admin: string };
  return run("bash", ["-c", `set -eo pipefail\n${script}\nwait`], {
    cwd,
    timeout: BLOCK_TIMEOUT_MS,
    // The defaults the CLI and `npm run traffic` fall back to, on the demo's free ports.
    env: { ...process.env, PATH: `${join(temp.dir, "bin")}:${process.env.PATH ?? ""}`, PROXY_URL: first.url, STRANGLER_ADMIN_URL: first.admin, npm_config_update_notifier: "false" },
  });
}

describe("the shell blocks of the README and docs/, run against the demo", () => {
  it("finds the pages' blocks (the README's migration story among them)", () => {
    expect([...pages.keys()]).toContain("README.md");
    expect((pages.get("README.md") ?? []).some((b) => b.script.includes("npx strangler promote start"))).toBe(true);
  });

  it("every whole routes.config.ts in the pages passes `npx strangler check routes.config.ts`, run as the README says", async () => {
    const configs = markdownFiles(ROOT).flatMap((file) =>
      [...readFileSync(join(ROOT, file), "utf8").matchAll(/^```ts\n([\s\S]*?)^```/gm)]
        .map((m) => m[1] as string)
        // A whole file: it exports the config and names its backends (a fragment shows one key in context).
        .filter((code) => code.includes("export default defineConfig(") && code.includes("backends:"))
        .map((code) => ({ file, code })),
    );
    expect(configs.map((c) => c.file)).toContain("README.md");
    for (const [i, { file, code }] of configs.entries()) {
      const cwd = checkout(`config-${i}`);
      unlinkSync(join(cwd, "routes.config.ts")); // the link to the repository's own file: never write through it
      // A page may leave out the import line the README's file starts with.
      const source = code.includes("import { defineConfig }") ? code : `import { defineConfig } from "./src/config/define-config.ts";\n${code}`;
      writeFileSync(join(cwd, "routes.config.ts"), source);
      const { code: exit, output } = await run("npx", ["strangler", "check", "routes.config.ts"], { cwd, timeout: 60_000 });
      expect(exit, `${file}: its routes.config.ts\n${source}\n${output}`).toBe(0);
    }
  }, 120_000);

  for (const [file, blocks] of pages) {
    const fleet = blocks.some((b) => b.against === "demo:fleet");
    it(`${file}: ${blocks.length} block(s) run as written against npm run ${fleet ? "demo:fleet" : "demo"}`, async () => {
      const demo = await startDemoCommand({ fleet });
      try {
        const cwd = checkout(file.replaceAll("/", "_"));
        const ports = portsOf(demo);
        for (const block of blocks) {
          const { code, output } = await runBlock(onDemoPorts(block.script, { ports }), cwd, demo);
          expect(code, `${file}:${block.line} exited ${code}:\n${output}\n--- the demo's output:\n${demo.output().slice(-4_000)}`).toBe(0);
        }
        // The stories end where their comments say: a route halted by its guard and resumed, one promoted by evidence.
        for (const [route, state] of Object.entries(STORY_ENDS[file] ?? {})) {
          const migration = (await (await fetch(`${(demo.nodes[0] as { admin: string }).admin}/api/routes/${route}/migration`)).json()) as { state: string };
          expect(migration.state, `${file}: ${route} at the end of the story`).toBe(state);
        }
      } finally {
        await demo.stop();
      }
    }, blocks.length * BLOCK_TIMEOUT_MS + 90_000);
  }
});
