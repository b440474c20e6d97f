import { describe, expect, it } from "vitest";
import { onDemoPorts, shellBlocks } from "../../../scripts/docs/shell-blocks.ts";

const page = [
  "# A page",
  "```sh",
  "curl -s http://127.0.0.1:8080/api/products",
  "```",
  "<!-- not run: builds an image -->",
  "```bash",
  "docker build .",
  "```",
  "```ts",
  "export default {};",
  "```",
  "- a list item:",
  "  ```shell",
  "  npx strangler routes",
  "    --json",
  "  ```",
  "<!-- run against: npm run demo:fleet -->",
  "~~~sh",
  "echo ``` is not a fence here",
  "~~~",
  "<!-- not run: -->",
  "```sh",
  "echo an empty reason does not skip",
  "```",
].join("\n");

describe("shellBlocks", () => {
  const blocks = shellBlocks("docs/page.md", page);

  it("finds the sh, bash and shell blocks with their opening line, and nothing else", () => {
    expect(blocks.map((b) => [b.line, b.script])).toEqual([
      [2, "curl -s http://127.0.0.1:8080/api/products"],
      [6, "docker build ."],
      [13, "npx strangler routes\n  --json"],
      [18, "echo ``` is not a fence here"],
      [22, "echo an empty reason does not skip"],
    ]);
  });

  it("reads the markers above a fence: not run (with its reason, which is required) and the fleet demo", () => {
    expect(blocks.map((b) => b.notRun)).toEqual([undefined, "builds an image", undefined, undefined, undefined]);
    expect(blocks.map((b) => b.against)).toEqual(["demo", "demo", "demo", "demo:fleet", "demo"]);
  });
});

describe("onDemoPorts", () => {
  const ports = new Map([
    [8080, 41_001],
    [9901, 41_002],
  ]);

  it("rewrites the demo's fixed ports, on 127.0.0.1 and localhost, to the running demo's", () => {
    expect(onDemoPorts("curl http://127.0.0.1:8080/a && curl localhost:9901/b", { ports })).toBe("curl http://127.0.0.1:41001/a && curl localhost:41002/b");
  });

  it("refuses a loopback port the demo does not serve, naming it", () => {
    expect(() => onDemoPorts("curl http://127.0.0.1:4317/v1/traces", { ports })).toThrow(/127\.0\.0\.1:4317 is not one of the demo's addresses/);
  });
});
