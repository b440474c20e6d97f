import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startDemoBackends, type DemoBackends } from "../helpers/demo.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const TOKEN = "dashboard-token-0123456789";
const EVIL = "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>";
const ARTIFACTS = join(process.cwd(), "test-artifacts");

describe("the migration dashboard in headless Chromium", () => {
  const temp = makeTempDir();
  let demo: DemoBackends;
  let evilLegacy: Fixture;
  let evilTarget: Fixture;
  let proxy: Strangler;
  let browser: Browser;

  beforeAll(async () => {
    demo = await startDemoBackends();
    evilLegacy = await startFixture((_req, res) => res.end(JSON.stringify({ name: "fine" })));
    evilTarget = await startFixture((_req, res) => res.end(JSON.stringify({ name: EVIL, [EVIL]: 1 })));
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { ...demo.backends, evil: { url: evilTarget.url }, evillegacy: { url: evilLegacy.url } },
        routes: [
          { id: "products-list", match: { methods: ["GET"], path: "/api/products" }, target: "catalog", rollout: { percent: 0 }, shadow: { percent: 100 } },
          { id: "orders-list", match: { methods: ["GET"], path: "/api/orders" }, target: "orders", rollout: { percent: 25 }, shadow: { percent: 100 } },
          { id: "xss", match: { path: "/xss" }, legacy: "evillegacy", target: "evil", rollout: { percent: 0 }, shadow: { percent: 100 } },
        ],
      }),
      { adminTokens: [{ label: "ops", token: TOKEN }] },
    );
    for (let i = 0; i < 10; i++) {
      await (await fetch(`${proxy.url}/api/products?page=${1 + (i % 3)}`, { headers: { "x-user-id": `u${i}` } })).arrayBuffer();
      await (await fetch(`${proxy.url}/api/orders`, { headers: { "x-user-id": `u${i}` } })).arrayBuffer();
      await (await fetch(`${proxy.url}/xss`)).arrayBuffer();
    }
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await Promise.all([demo?.close(), evilLegacy?.close(), evilTarget?.close()]);
    temp.remove();
  });

  const authed = () => browser.newPage({ httpCredentials: { username: "ops", password: TOKEN }, viewport: { width: 1500, height: 900 } });

  it("without the token the page is refused", async () => {
    const page = await browser.newPage();
    const statuses: number[] = [];
    page.on("response", (r) => statuses.push(r.status()));
    // A headless browser cannot prompt for the Basic challenge: the navigation fails on the 401.
    const failure = await page.goto(`${proxy.adminUrl}/dashboard`).then(() => undefined, (e: Error) => e.message);
    expect(failure ?? `status ${statuses.join(",")}`).toMatch(/ERR_INVALID_AUTH_CREDENTIALS|status 401/);
    expect(await page.locator("#routes").count()).toBe(0);
    await page.close();
    const plain = await fetch(`${proxy.adminUrl}/dashboard`);
    expect(plain.status).toBe(401);
    expect(plain.headers.get("www-authenticate")).toMatch(/^Basic/);
    expect((await fetch(`${proxy.adminUrl}/api/overview`)).status).toBe(401);
  });

  it("shows the routes, and a percentage set from a route's row moves the data plane", async () => {
    const page = await authed();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${proxy.adminUrl}/dashboard`);
    await page.waitForSelector("#routes tr[data-route]");
    expect((await page.locator("#routes tr[data-route]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-route")))).sort()).toEqual(["orders-list", "products-list", "xss"]);
    await expect.poll(() => page.locator('tr[data-route="products-list"] .divergence').first().textContent()).toContain("type_changed $.items[*].price");

    await page.locator('tr[data-route="products-list"] select.row-action').selectOption("set");
    await page.fill("#action-percent", "100");
    await page.fill("#action-reason", "catalog verified in the browser");
    await page.click("#action-confirm");
    await expect.poll(() => page.locator('tr[data-route="products-list"] .live-percent').textContent(), { timeout: 10_000 }).toMatch(/^100%/);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });

    const sides = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${proxy.url}/api/products`, { headers: { "x-user-id": `browser-${i}` } });
      sides.add(res.headers.get("x-served-by") ?? "");
      await res.arrayBuffer();
    }
    expect(sides).toEqual(new Set(["catalog"]));
    const route = (await (await fetch(`${proxy.adminUrl}/api/routes/products-list`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { lastChange: { by: string; reason: string } };
    expect(route.lastChange).toMatchObject({ by: "ops", reason: "catalog verified in the browser" });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a divergence holding <script> renders as text, and nothing runs", async () => {
    const page = await authed();
    await page.goto(`${proxy.adminUrl}/dashboard#/route/xss`);
    await page.waitForSelector("#route-page .signature");
    const text = await page.locator("#divergences").textContent();
    expect(text).toContain(EVIL);
    // Evaluated as strings: the test is compiled without the DOM library.
    expect(await page.evaluate("window.__xss")).toBeUndefined();
    expect(await page.evaluate("document.querySelectorAll('script').length")).toBe(1);
    expect(await page.evaluate("document.querySelectorAll('#app img').length")).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-route.png") });
    await page.close();
  });
});
