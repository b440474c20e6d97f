import { spawn } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "../../scripts/build.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { spawnProxy, type ChildProxy } from "../helpers/child-proxy.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOKEN = "built-proxy-token-0123456789";
/** About 300 KB: past the worker threshold set below (64 KiB), so the pair is compared in the compare worker. */
const LARGE_ITEMS = Array.from({ length: 8_000 }, (_, i) => ({ id: i, name: `item ${i}`, price: i * 3 }));

/**
 * The proxy as production runs it: compiled by `npm run build` (here into an app directory of its own, with
 * the repository's node_modules beside it, so that a build elsewhere cannot disturb it) and started with
 * plain `node main.js`, no TypeScript loader in the process.
 */
describe("the built proxy (npm run build, then node dist/main.js)", () => {
  const temp = makeTempDir();
  const app = join(temp.dir, "app");
  let legacy: Fixture;
  let service: Fixture;
  let proxy: ChildProxy;
  let browser: Browser | undefined;

  beforeAll(async () => {
    mkdirSync(app);
    copyFileSync(join(ROOT, "package.json"), join(app, "package.json"));
    symlinkSync(join(ROOT, "node_modules"), join(app, "node_modules"));
    build(join(app, "dist"));
    legacy = await startFixture((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(req.url === "/api/items" ? LARGE_ITEMS : { served: "legacy", path: req.url }));
    });
    service = await startFixture((req, res) => {
      res.setHeader("content-type", "application/json");
      // The service's answer differs in one item: a divergence only a full comparison finds.
      res.end(JSON.stringify(req.url === "/api/items" ? LARGE_ITEMS.map((item) => (item.id === 4_321 ? { ...item, price: -1 } : item)) : { served: "service", path: req.url }));
    });
    const config = writeConfig(temp.dir, {
      backends: { legacy: { url: legacy.url }, orders: { url: service.url } },
      shadowing: { workerThresholdBytes: 64 * 1024 },
      routes: [
        { id: "orders", match: { methods: ["GET"], path: "/api/orders/:id" }, target: "orders", rollout: { percent: 100 } },
        { id: "items", match: { methods: ["GET"], path: "/api/items" }, target: "orders", rollout: { percent: 0 }, shadow: { percent: 100 } },
      ],
    });
    proxy = await spawnProxy(config, { STRANGLER_ADMIN_TOKEN: TOKEN }, [], join(app, "dist/main.js"));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await proxy?.stop();
    await legacy?.close();
    await service?.close();
    temp.remove();
  });

  it("is JavaScript that needs no loader: main.js, the compare worker and the dashboard's assets are in dist/", () => {
    for (const file of ["main.js", "cli/strangler.js", "shadow/compare-worker.js", "admin/dashboard/dashboard.js", "admin/dashboard/charts.js", "admin/dashboard/dashboard.css"]) {
      expect(existsSync(join(app, "dist", file)), file).toBe(true);
    }
    expect(readFileSync(join(app, "dist/main.js"), "utf8")).toMatch(/from "\.\/strangler\.js"/);
    expect(readFileSync(`/proc/${proxy.process.pid}/cmdline`, "utf8").split("\0")).not.toContain("tsx");
  });

  it("routes: a claimed endpoint to its service, the rest to the monolith", async () => {
    expect(await (await fetch(`${proxy.url}/api/orders/7`)).json()).toEqual({ served: "service", path: "/api/orders/7" });
    expect(await (await fetch(`${proxy.url}/anything/else`)).json()).toEqual({ served: "legacy", path: "/anything/else" });
  });

  it("compares a large shadowed pair in the compare worker and finds the one differing field", async () => {
    const res = await fetch(`${proxy.url}/api/items`);
    expect((await res.json()) as unknown[]).toHaveLength(LARGE_ITEMS.length);
    const auth = { authorization: `Bearer ${TOKEN}` };
    let metrics = "";
    for (let waited = 0; waited < 20_000 && !/strangler_shadow_comparisons_total\{route="items",outcome="diverge"\} 1/.test(metrics); waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      metrics = await (await fetch(`${proxy.adminUrl}/metrics`, { headers: auth })).text();
    }
    expect(metrics).toMatch(/strangler_shadow_comparisons_total\{route="items",outcome="diverge"\} 1/);
  });

  it("serves the admin API with its token, and the dashboard renders in Chromium", async () => {
    expect((await fetch(`${proxy.adminUrl}/api/routes`)).status).toBe(401);
    const { routes } = (await (await fetch(`${proxy.adminUrl}/api/routes`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { routes: { id: string }[] };
    expect(routes.map((r) => r.id)).toEqual(["orders", "items"]);
    browser = await launchChromium();
    const page = await browser.newPage({ httpCredentials: { username: "admin", password: TOKEN } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${proxy.adminUrl}/dashboard`);
    await page.waitForSelector("#routes tr[data-route]");
    expect((await page.locator("#routes tr[data-route]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-route")))).sort()).toEqual(["items", "orders"]);
    expect(errors).toEqual([]);
  });

  it("runs the CLI from dist/ against it", async () => {
    const child = spawn(process.execPath, [join(app, "dist/cli/strangler.js"), "routes", "--json"], { env: { ...process.env, STRANGLER_ADMIN_URL: proxy.adminUrl, STRANGLER_ADMIN_TOKEN: TOKEN } });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    expect((await once(child, "exit"))[0]).toBe(0);
    expect((JSON.parse(stdout) as { id: string }[]).map((r) => r.id)).toEqual(["orders", "items"]);
  });
});
