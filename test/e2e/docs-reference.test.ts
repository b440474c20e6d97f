import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { configKeys } from "../../scripts/docs/config-reference.ts";
import { configurationPage, limitsPage, metricsPage, referencePages, type ReferencePage } from "../../scripts/docs/references.ts";
import { configSchema } from "../../src/config/schema.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("the generated reference pages (docs/reference/)", () => {
  let pages: ReferencePage[];
  beforeAll(async () => {
    pages = await referencePages();
  });

  it("are what `npm run docs` writes today: a metric, a label or a command changed without them fails here", () => {
    expect(pages.map((p) => p.path).sort()).toEqual(["docs/reference/admin-api.md", "docs/reference/cli.md", "docs/reference/configuration.md", "docs/reference/limits.md", "docs/reference/metrics.md"]);
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

  it("the admin API reference lists every endpoint of the OpenAPI document, with its parameters, body fields and answers", () => {
    const page = pages.find((p) => p.path === "docs/reference/admin-api.md")?.content ?? "";
    expect(page).toContain("| PUT | `/api/routes/{id}/rollout` | operator | Set a route's live percentage (audited) |");
    expect(page).toMatch(/### PUT \/api\/routes\/\{id\}\/rollout[\s\S]*?\| `percent` \| body \| number \| yes \|[\s\S]*?\| 409 \|/);
    expect(page).toMatch(/### GET \/api\/audit[\s\S]*?\| `limit` \| query \|/);
  });

  it("the configuration reference has every key of the schema, each with its type, default, bounds and a description", () => {
    const keys = configKeys(configSchema, join(root, "src/config/schema.ts"), "configSchema");
    expect(keys.length).toBeGreaterThan(100);
    // A key added without a comment above it in schema.ts fails here: the comment is its documentation.
    expect(keys.filter((k) => k.description === "").map((k) => k.path)).toEqual([]);
    const byPath = new Map(keys.map((k) => [k.path, k]));
    expect(byPath.get("backends.<name>.connectTimeoutMs")).toMatchObject({ type: "integer", defaultValue: "2000", bounds: "> 0, ≤ 600000" });
    expect(byPath.get("routes[].shadow.noise.sampleRate")).toMatchObject({ type: "number", defaultValue: "0.05", bounds: "≥ 0, ≤ 1" });
    expect(byPath.get("routes[].target")).toMatchObject({ type: "string", required: true });
    expect(byPath.get("server.tls.cert")).toMatchObject({ required: false }); // required only when server.tls is set
    expect(byPath.get("servedByHeader")?.description).toMatch(/^Response header naming the backend that answered/);
    const configuration = configurationPage(keys).content;
    expect(configuration).toContain("| `shadowing.maxBufferedBytes` | integer | `268435456 (256 MiB)` | ≥ 1024 (1 KiB) |");
    const limits = limitsPage(keys).content;
    expect(limits).toContain("| `server.headersTimeoutMs` | `30000` | ≥ 1000, ≤ 600000 |");
    expect(limits).not.toContain("maxErrorRate"); // a guard's threshold is not a bound on the proxy
    // A bound its name does not announce is marked @limit in its comment (the tag itself is not shown).
    expect(byPath.get("server.trustedProxies")).toMatchObject({ limit: true });
    expect(limits).toMatch(/\| `server\.trustedProxies` \| `\[\]` \|[^\n]*At most 1000 entries\. Default none\. \|/);
    expect(limits).not.toContain("@limit");
    // Keys read at start-up say so, from src/config/read-at-start-up.ts; the others do not.
    expect(limits).toMatch(/\| `shadowing\.maxBufferedBytes` \|[^\n]*\*\*Read at start-up\.\*\* \|/);
    expect(limits).toMatch(/\| `server\.keepAliveTimeoutMs` \|[^\n]*load balancer's 60 s\)\. \|/);
  });
});
