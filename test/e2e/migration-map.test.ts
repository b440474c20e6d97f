import { spawn } from "node:child_process";
import { once } from "node:events";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfigFile } from "../../src/config/load-config.ts";
import { ManualClock } from "../../src/guard/clock.ts";
import { samplePath } from "../../src/map/map-view.ts";
import { buildRouteTable } from "../../src/routing/route-table.ts";
import type { Strangler } from "../../src/strangler.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { startDemoBackends, type DemoBackends } from "../helpers/demo.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const HOUR = 3_600_000;

interface MapRow {
  method: string;
  template: string;
  requests: number;
  share: number;
  servedByServices: number;
  route: string | null;
  lastMonolithAt: string | null;
}
interface MapAnswer {
  requests: number;
  templates: { total: number; claimed: number; unclaimed: number };
  overflow: number;
  rows: MapRow[];
}

/** Every endpoint of the demo monolith, with random ids, and how often the test calls it. */
const pad = (n: number) => String(n).padStart(3, "0");
const rand = (n: number) => 1 + Math.floor(Math.random() * n);
const ENDPOINTS: Array<{ method: string; template: string; weight: number; path: () => string; body?: () => unknown }> = [
  { method: "GET", template: "/api/users", weight: 2, path: () => `/api/users?page=${rand(3)}` },
  { method: "GET", template: "/api/users/:id", weight: 3, path: () => `/api/users/u_${pad(rand(40))}` },
  { method: "GET", template: "/api/products", weight: 2, path: () => `/api/products?category=books&page=${rand(2)}` },
  { method: "GET", template: "/api/products/:id", weight: 4, path: () => `/api/products/p_${pad(rand(80))}` },
  { method: "GET", template: "/api/inventory/:id", weight: 2, path: () => `/api/inventory/p_${pad(rand(80))}` },
  { method: "GET", template: "/api/cart/:id", weight: 2, path: () => `/api/cart/u_${pad(rand(30))}` },
  { method: "POST", template: "/api/cart/:id/items", weight: 1, path: () => `/api/cart/u_${pad(rand(25))}/items`, body: () => ({ productId: `p_${pad(rand(60))}`, quantity: 1 }) },
  { method: "DELETE", template: "/api/cart/:id/items/:id2", weight: 1, path: () => `/api/cart/u_${pad(rand(25))}/items/p_${pad(rand(60))}` },
  { method: "GET", template: "/api/orders", weight: 2, path: () => `/api/orders?page=${rand(2)}` },
  { method: "GET", template: "/api/orders/:id", weight: 3, path: () => (Math.random() < 0.5 ? `/api/orders/ord_seed_${pad(rand(50))}` : `/api/orders/ord_${randomUUID()}`) },
  { method: "POST", template: "/api/orders", weight: 1, path: () => "/api/orders", body: () => ({ userId: `u_${pad(rand(25))}`, items: [{ productId: `p_${pad(rand(60))}`, quantity: 1 }] }) },
  { method: "POST", template: "/api/orders/:id/cancel", weight: 1, path: () => `/api/orders/ord_${randomUUID()}/cancel` },
];
const TOTAL_WEIGHT = ENDPOINTS.reduce((sum, e) => sum + e.weight, 0);
const PER_WEIGHT = 40;

describe("the migration map, learned from the demo monolith's own traffic", () => {
  const temp = makeTempDir();
  const dataDir = join(temp.dir, "data");
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 10, 0, 0));
  let demo: DemoBackends;
  let proxy: Strangler;
  const sent = new Map<string, number>();

  const admin = async <T,>(path: string, init: { method?: string; json?: unknown } = {}) => {
    const res = await fetch(`${proxy.adminUrl}${path}`, {
      method: init.method ?? "GET",
      headers: init.json ? { "content-type": "application/json" } : {},
      ...(init.json ? { body: JSON.stringify(init.json) } : {}),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  /** Runs `bin/strangler.js` (what `npx strangler` runs) against the proxy. */
  const strangler = async (args: string[]) => {
    const child = spawn(process.execPath, ["bin/strangler.js", ...args], { cwd: ROOT, env: { ...process.env, STRANGLER_ADMIN_URL: proxy.adminUrl } });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const [code] = (await once(child, "exit")) as [number];
    return { code, stdout };
  };

  beforeAll(async () => {
    demo = await startDemoBackends();
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: demo.backends,
        map: { retireQuietPeriodMs: HOUR },
        routes: [
          // The catalog owns product detail already; orders-list is still the monolith's (0%).
          // …at its own path: the map shows both.
          { id: "product-detail", match: { methods: ["GET"], path: "/api/products/:id" }, target: "catalog", rollout: { percent: 100 }, rewrite: { path: "/products/:id" } },
          { id: "orders-list", match: { methods: ["GET"], path: "/api/orders" }, target: "orders", rollout: { percent: 0 } },
        ],
      }),
      { dataDir, clock, guardTimer: false },
    );
    const calls = ENDPOINTS.flatMap((e) => Array.from({ length: e.weight * PER_WEIGHT }, () => e));
    calls.sort(() => Math.random() - 0.5);
    for (let i = 0; i < calls.length; i += 8) {
      await Promise.all(
        calls.slice(i, i + 8).map(async (e) => {
          const body = e.body?.();
          const res = await fetch(`${proxy.url}${e.path()}`, {
            method: e.method,
            headers: { "x-user-id": `user-${rand(100)}`, ...(body ? { "content-type": "application/json" } : {}) },
            ...(body ? { body: JSON.stringify(body) } : {}),
          });
          await res.arrayBuffer();
          sent.set(`${e.method} ${e.template}`, (sent.get(`${e.method} ${e.template}`) ?? 0) + 1);
        }),
      );
    }
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await demo?.close();
    temp.remove();
  });

  it("finds exactly the monolith's endpoints, a row each (never one per id), with their share of the traffic", async () => {
    const { status, body: map } = await admin<MapAnswer>("/api/map?hours=1");
    expect(status).toBe(200);
    expect(map.rows.map((r) => `${r.method} ${r.template}`).sort()).toEqual(ENDPOINTS.map((e) => `${e.method} ${e.template}`).sort());
    expect(map.requests).toBe(TOTAL_WEIGHT * PER_WEIGHT);
    for (const e of ENDPOINTS) {
      const row = map.rows.find((r) => r.method === e.method && r.template === e.template) as MapRow;
      expect(Math.abs(row.share - e.weight / TOTAL_WEIGHT), `${e.method} ${e.template}`).toBeLessThan(0.02);
    }
    expect(map.templates).toEqual({ total: 12, claimed: 2, unclaimed: 10 });
    expect(map.overflow).toBe(0);
    const detail = map.rows.find((r) => r.template === "/api/products/:id") as MapRow;
    expect(detail).toMatchObject({ route: "product-detail", targetTemplate: "/products/:id", servedByServices: 1, lastMonolithAt: null });
    // Response bytes, from the answers' Content-Length.
    expect((detail as unknown as { bytes: number }).bytes).toBeGreaterThan(160 * 10);
    expect(map.rows.find((r) => r.method === "GET" && r.template === "/api/orders")).toMatchObject({ route: "orders-list", targetTemplate: null, servedByServices: 0 });
    // Per route, the proof of death: when the monolith last answered it (never, for product-detail at 100%).
    expect((map as unknown as { routes: unknown[] }).routes).toEqual([
      { id: "orders-list", requests: 80, servedByServices: 0, lastMonolithAt: new Date(clock.now()).toISOString() },
      { id: "product-detail", requests: 160, servedByServices: 1, lastMonolithAt: null },
    ]);
    // Only the monolith's own with ?unclaimed=1.
    const unclaimed = (await admin<MapAnswer>("/api/map?hours=1&unclaimed=1")).body;
    expect(unclaimed.rows.every((r) => r.route === null)).toBe(true);
    expect(unclaimed.rows).toHaveLength(10);
    // No id or query value reached the store: templates only.
    const db = new Database(join(dataDir, "strangler.db"), { readonly: true });
    try {
      const stored = (db.prepare("SELECT template FROM map_templates UNION SELECT template FROM map_counts").all() as Array<{ template: string }>).map((r) => r.template);
      expect(stored.length).toBeGreaterThan(0);
      expect(stored.filter((t) => /\d|\?/.test(t.replace(/:id\d*/g, "")))).toEqual([]);
    } finally {
      db.close();
    }
    // Metrics with bounded labels: configured routes only, never templates.
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/^strangler_map_trie_nodes \d+$/m);
    expect(metrics).toMatch(/^strangler_map_overflow_total 0$/m);
    expect(metrics).toMatch(new RegExp(`^strangler_map_monolith_last_served_timestamp_seconds\\{route="orders-list"\\} ${clock.now() / 1000}$`, "m"));
    expect(metrics).not.toMatch(/strangler_map\w*\{[^}]*template/);
    // The CLI's table.
    const { code, stdout } = await strangler(["map"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^960 requests over 24 h; 16\.7% served by services; 2 of 12 endpoints claimed by a route$/m);
    expect(stdout).toMatch(/GET\s+\/api\/products\/:id\s+\d+\s+[\d.]+%\s+100\.0%\s+0\s+\d+ ms\s+product-detail\s+-$/m);
  });

  it("strangler map suggest prints routes that, pasted into the config, validate and claim the suggested endpoints", async () => {
    const { code, stdout } = await strangler(["map", "suggest", "--limit", "10"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\/\/ \/api\/orders: \d+ requests/m);
    // Paste: each group's backends line into backends, its route lines into routes.
    const backends: string[] = [];
    const routes: string[] = [];
    let into: string[] | undefined;
    for (const line of stdout.split("\n")) {
      if (line.startsWith("// backends")) into = backends;
      else if (line.startsWith("// routes")) into = routes;
      else if (line.startsWith("//") || line.trim() === "") continue;
      else into?.push(line);
    }
    const base = { legacy: demo.backends.legacy, catalog: demo.backends.catalog, orders: demo.backends.orders };
    const path = join(temp.dir, "pasted.config.ts");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(
      path,
      `export default {
  backends: {
${Object.entries(base).map(([name, b]) => `    ${name}: ${JSON.stringify(b)},`).join("\n")}
    ${backends.join("\n    ")}
  },
  routes: [
    { id: "product-detail", match: { methods: ["GET"], path: "/api/products/:id" }, target: "catalog", rollout: { percent: 100 } },
    { id: "orders-list", match: { methods: ["GET"], path: "/api/orders" }, target: "orders", rollout: { percent: 0 } },
    ${routes.join("\n    ")}
  ],
};
`,
    );
    const config = await loadConfigFile(path);
    // A backend the config declares already is reused, never declared twice over the real one.
    expect(stdout).toContain("// backends: orders is declared already");
    expect(config.backends.orders?.url).toBe((demo.backends.orders as { url: string }).url);
    expect(Object.keys(config.backends).sort()).toEqual(["cart", "catalog", "inventory", "legacy", "orders", "products", "users"]);
    const table = buildRouteTable(config.routes);
    const { body } = await admin<{ suggestions: Array<{ templates: Array<{ method: string; template: string }>; routes: Array<{ id: string }> }> }>("/api/map/suggest?limit=10");
    const suggested = body.suggestions.flatMap((s) => s.templates.map((t) => ({ ...t, routes: s.routes.map((r) => r.id) })));
    expect(suggested).toHaveLength(10);
    for (const t of suggested) {
      const claimed = table.match(t.method, samplePath(t.template), {});
      expect(claimed?.id, `${t.method} ${t.template}`).toBeDefined();
      expect(t.routes).toContain(claimed?.id);
    }
  });

  it("refuses to retire a route the monolith still answered within the quiet period, with the evidence, and allows it after", async () => {
    // orders-list was the monolith's until now: it goes to 100%.
    expect((await admin("/api/routes/orders-list/rollout", { method: "PUT", json: { percent: 100, reason: "orders service ready" } })).status).toBe(200);
    const refused = await admin<{ error: { code: string; message: string; evidence: { lastMonolithAt: string; quietPeriodMs: number; templates: Array<{ template: string }> } } }>("/api/routes/orders-list/retire", {
      method: "POST",
      json: { reason: "delete the monolith's code" },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("still_served");
    expect(refused.body.error.message).toMatch(/the monolith answered route "orders-list" 0 h ago .* after 1 h of silence/);
    expect(refused.body.error.evidence).toMatchObject({ lastMonolithAt: new Date(clock.now()).toISOString(), quietPeriodMs: HOUR, templates: [{ template: "/api/orders" }] });
    // Traffic at 100% is the service's: the silence starts.
    await (await fetch(`${proxy.url}/api/orders`)).arrayBuffer();
    clock.advance(HOUR - 1_000);
    expect((await admin("/api/routes/orders-list/retire", { method: "POST", json: { reason: "too early" } })).status).toBe(409);
    clock.advance(1_000);
    const retired = await admin<{ state: string }>("/api/routes/orders-list/retire", { method: "POST", json: { reason: "an hour of silence" } });
    expect(retired.status).toBe(200);
    expect(retired.body.state).toBe("retired");
    const map = (await admin<MapAnswer>("/api/map?hours=2")).body;
    expect(map.rows.find((r) => r.method === "GET" && r.template === "/api/orders")?.servedByServices).toBeGreaterThan(0);
  });

  it("the dashboard's Map page, in headless Chromium, shows the endpoints by traffic, coloured by who serves them", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${proxy.adminUrl}/dashboard`);
      await page.click("#nav-map");
      await page.waitForSelector("#map tbody tr");
      const rows = await page.locator("#map tbody tr").evaluateAll((trs) => trs.map((tr) => [tr.getAttribute("data-template"), tr.getAttribute("data-state")]));
      expect(rows).toHaveLength(12);
      expect(rows).toContainEqual(["GET /api/products/:id", "migrated"]);
      expect(await page.locator('#map tr[data-template="GET /api/products/:id"] td').first().textContent()).toBe("GET /api/products/:idservice: /products/:id");
      expect(rows).toContainEqual(["GET /api/users/:id", "unclaimed"]);
      // The busiest first, its bar the widest (set through the CSSOM, as the CSP allows).
      const widths = await page.locator("#map .bar").evaluateAll((bars) => bars.map((b) => (b as unknown as { offsetWidth: number }).offsetWidth));
      expect(widths[0]).toBe(100);
      expect(widths.every((w, i) => i === 0 || w <= (widths[i - 1] as number))).toBe(true);
      expect(await page.locator("#suggestions pre").first().textContent()).toMatch(/routes: at 0%/);
      await page.screenshot({ path: join(process.cwd(), "test-artifacts", "migration-map.png"), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
