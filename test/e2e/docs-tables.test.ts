import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/admin/openapi.ts";
import { REJECTION_REASONS } from "../../src/metrics/proxy-metrics.ts";
import { registeredMetrics, schemaKeys } from "../../scripts/docs/references.ts";

/**
 * The concept pages keep short tables of what serves the task at hand (the metrics to alert on, the
 * endpoints of a feature, the failure codes). They are written by hand, so each is checked against the
 * code here: a renamed metric, label, endpoint or error code fails CI. The full tables are generated
 * (docs/reference/, checked by docs-reference.test.ts).
 */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CONCEPT_PAGES = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md") && !f.startsWith("performance")).map((f) => `docs/${f}`)];

/** Every table row of a page, as its cells, with the page and line for the failure message. */
function tableRows(file: string): Array<{ where: string; cells: string[] }> {
  return readFileSync(join(ROOT, file), "utf8")
    .split("\n")
    .map((line, i) => ({ line, where: `${file}:${i + 1}` }))
    .filter(({ line }) => line.startsWith("| ") && !line.startsWith("| ---"))
    .map(({ line, where }) => ({ where, cells: line.slice(2, -2).split(/(?<!\\) \| /) }));
}

/** The backticked words of a cell outside parentheses (`route`, `backend` (`a`, `b`) → route, backend). */
function namesOutsideParentheses(cell: string): string[] {
  let depth = 0;
  let outside = "";
  for (const ch of cell) {
    if (ch === "(") depth++;
    if (depth === 0) outside += ch;
    if (ch === ")") depth = Math.max(0, depth - 1);
  }
  return [...outside.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
}

const rows = CONCEPT_PAGES.flatMap(tableRows);

/** Every TypeScript source of the proxy, concatenated: what a documented name must be found in. */
const srcText = (): string =>
  readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => readFileSync(join(ROOT, "src", f), "utf8"))
    .join("\n");

describe("the hand-written tables of the concept pages, checked against the code", () => {
  let metrics: Map<string, readonly string[]>;
  beforeAll(async () => {
    metrics = new Map((await registeredMetrics()).map((m) => [m.name, m.labelNames ?? []]));
  });

  it("every metric a table names is registered, with the labels the table gives it", () => {
    const checked: string[] = [];
    for (const { where, cells } of rows) {
      const names = [...(cells[0] ?? "").matchAll(/`(strangler_[a-z0-9_]+)`/g)].map((m) => m[1] as string);
      for (const name of names) {
        expect(metrics.has(name), `${where}: ${name} is not registered`).toBe(true);
        checked.push(name);
        // A row of one metric lists its labels ("none" when it has none); a row of several describes them together.
        if (names.length !== 1 || cells.length < 3) continue;
        const labels = (cells[1] ?? "").trim() === "none" ? [] : namesOutsideParentheses(cells[1] ?? "");
        if (labels.length === 0 && (cells[1] ?? "").trim() !== "none") continue;
        expect([...labels].sort(), `${where}: the labels of ${name}`).toEqual([...(metrics.get(name) ?? [])].sort());
      }
    }
    expect(checked.length).toBeGreaterThan(15);
  });

  it("every admin endpoint a table names is in the OpenAPI document, with that method", () => {
    const paths = openApiDocument().paths as Record<string, Record<string, unknown>>;
    let checked = 0;
    for (const { where, cells } of rows) {
      const first = cells[0] ?? "";
      const endpoint = /^`(GET|PUT|POST|DELETE|PATCH) (\/[^`?\s]*)[^`]*`/.exec(first);
      if (!endpoint) continue;
      const method = (endpoint[1] as string).toLowerCase();
      const base = endpoint[2] as string;
      // `POST /api/routes/:id/promotion/pause`, `/resume`, `/step`: the siblings of the first path.
      const siblings = [...first.matchAll(/, `(\/[a-z-]+)`/g)].map((m) => base.replace(/\/[^/]+$/, m[1] as string));
      for (const path of [base, ...siblings]) {
        const openApiPath = path.replace(/:([A-Za-z]+)/g, "{$1}");
        expect(paths[openApiPath]?.[method], `${where}: ${method.toUpperCase()} ${path} is not in the OpenAPI document`).toBeDefined();
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it("every configuration key the configuration page's table names is a key of the schema", () => {
    const paths = new Set(schemaKeys().map((k) => k.path));
    const named = tableRows("docs/configuration.md").flatMap(({ cells }) => [...(cells[0] ?? "").matchAll(/`([a-zA-Z.<>[\]]+)`/g)].map((m) => m[1] as string));
    expect(named.length).toBeGreaterThan(8);
    // A section (`backends.<name>`, `fleet`) counts when keys sit under it.
    for (const key of named) expect(paths.has(key) || [...paths].some((p) => p.startsWith(`${key}.`)), `docs/configuration.md: ${key}`).toBe(true);
  });

  it("every environment variable the production table names is read by the proxy", () => {
    const sources = srcText();
    const variables = tableRows("docs/production.md").flatMap(({ cells }) => [...(cells[0] ?? "").matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string));
    expect(variables.length).toBeGreaterThan(8);
    for (const name of variables) expect(sources, `docs/production.md: ${name}`).toMatch(new RegExp(`(process\\.)?env\\.${name}\\b|"${name}"`));
  });

  it("the failure answers table names every code the data plane answers with, and only codes the code has", () => {
    const sources = srcText();
    const documented = tableRows("docs/failures.md").flatMap(({ cells }) => [...(cells[2] ?? "").matchAll(/`([a-z_]+)`/g)].map((m) => m[1] as string));
    for (const code of documented) expect(sources, `docs/failures.md: ${code}`).toContain(`"${code}"`);
    const upstreamCodes = [...readFileSync(join(ROOT, "src/proxy/upstream-error.ts"), "utf8").matchAll(/code: "([a-z_]+)"/g)].map((m) => m[1] as string);
    for (const code of [...REJECTION_REASONS, ...upstreamCodes, "circuit_open", "method_not_allowed"]) expect(documented, code).toContain(code);
  });
});
