import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { NODE_FLAGS } from "../../src/node-flags.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

// The flags must be on every command that starts the proxy: V8 reads them only at start-up, so one
// start command without them runs a proxy that quietly costs more CPU (see src/node-flags.ts).
// The Dockerfile's CMD is checked where the image is run (test/e2e/container.test.ts).
describe("the node flags the proxy ships with", () => {
  const startCommand = `node ${NODE_FLAGS.join(" ")} --import tsx src/main.ts`;

  it("are in npm start, and the README shows npm start as it is", () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toBe(startCommand);
    expect(readFileSync(join(ROOT, "README.md"), "utf8")).toContain(`npm start                                  # ${startCommand}`);
  });

  it("are flags this Node accepts (an unknown one would stop the proxy from starting)", () => {
    const run = spawnSync(process.execPath, [...NODE_FLAGS, "-e", "process.stdout.write(JSON.stringify(process.execArgv))"], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(expect.arrayContaining([...NODE_FLAGS]));
  });
});
