/**
 * `npm run docs`: writes the generated reference pages (docs/reference/). `npm test` compares them with
 * what this would write and fails when one is stale (test/e2e/docs-reference.test.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { referencePages } from "./references.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
for (const page of await referencePages()) {
  const path = join(root, page.path);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, page.content);
  console.log(`wrote ${page.path}`);
}
