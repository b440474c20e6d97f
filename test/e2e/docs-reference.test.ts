import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { metricsPage, referencePages, type ReferencePage } from "../../scripts/docs/references.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("the generated reference pages (docs/reference/)", () => {
  let pages: ReferencePage[];
  beforeAll(async () => {
    pages = await referencePages();
  });

  it("are what `npm run docs` writes today: a metric, a label or a command changed without them fails here", () => {
    expect(pages.map((p) => p.path).sort()).toEqual(["docs/reference/cli.md", "docs/reference/metrics.md"]);
    for (const page of pages) {
      const path = join(root, page.path);
      expect(existsSync(path), `${page.path} is missing: run npm run docs`).toBe(true);
      expect(readFileSync(path, "utf8"), `${page.path} is stale: run npm run docs`).toBe(page.content);
    }
  });

  it("list every family a running proxy registers, with its labels (ours as prom-client's)", () => {
    const metrics = pages.find((p) => p.path === "docs/reference/metrics.md")?.content ?? "";
    expect(metrics).toContain("| `strangler_requests_total` | counter | `route`, `backend`, `status_class` |");
    expect(metrics).toContain("| `strangler_shadow_backend_latency_seconds` | histogram | `route`, `backend` |");
    expect(metrics).toContain("| `strangler_rejected_requests_total` | counter | `reason` |");
    // A pipe in a help text cannot break the table.
    expect(metricsPage([{ name: "x_total", help: "a | b", type: "counter", labelNames: [] }]).content).toContain("| `x_total` | counter | none | a \\| b |");
  });
});
