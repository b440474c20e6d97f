import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

// The config file lives in a temp dir, so it names the SDK by its resolved path, as a file elsewhere would name its package.
const SDK = createRequire(import.meta.url).resolve("@openfeature/server-sdk");

describe("another OpenFeature provider, configured in routes.config.ts", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let service: Fixture;
  let proxy: Strangler;

  beforeAll(async () => {
    legacy = await startFixture((_req, res) => res.end("legacy"));
    service = await startFixture((_req, res) => res.end("service"));
    const configPath = join(temp.dir, "routes.config.ts");
    writeFileSync(
      configPath,
      `import { InMemoryProvider } from ${JSON.stringify(SDK)};
const variants = { legacy: "legacy", target: "target" };
export default {
  backends: { legacy: { url: ${JSON.stringify(legacy.url)} }, svc: { url: ${JSON.stringify(service.url)} } },
  routes: [
    { id: "moved", match: { path: "/moved" }, target: "svc", rollout: { percent: 0 } },
    { id: "kept", match: { path: "/kept" }, target: "svc", rollout: { percent: 100 } },
  ],
  openFeature: {
    provider: new InMemoryProvider({
      "strangler.route.moved": { variants, defaultVariant: "target", disabled: false },
      "strangler.route.kept": { variants, defaultVariant: "legacy", disabled: false },
    }),
  },
};
`,
    );
    proxy = await startTestProxy(configPath);
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), service.close()]);
    temp.remove();
  });

  it("routes by that provider's flags, whatever the file's percentages say", async () => {
    expect(await (await fetch(`${proxy.url}/moved`)).text()).toBe("service");
    expect(await (await fetch(`${proxy.url}/kept`)).text()).toBe("legacy");
  });

  it("the admin API refuses to change percentages it does not own, with 409", async () => {
    const res = await fetch(`${proxy.adminUrl}/api/routes/moved/rollout`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ percent: 0, reason: "x" }),
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: "externally_managed" } });
  });

  it("shows what that provider decided, never the file's percentages it ignores: API, metrics", async () => {
    for (let i = 0; i < 10; i++) {
      await (await fetch(`${proxy.url}/moved`, { headers: { "x-user-id": `u${i}` } })).arrayBuffer();
      await (await fetch(`${proxy.url}/kept`, { headers: { "x-user-id": `u${i}` } })).arrayBuffer();
    }
    const { routes } = (await (await fetch(`${proxy.adminUrl}/api/routes`)).json()) as { routes: Array<{ id: string; rollout: Record<string, unknown> }> };
    const byId = Object.fromEntries(routes.map((r) => [r.id, r.rollout]));
    // The file says 0% and 100%; the provider sends everything the other way.
    expect(byId.moved).toMatchObject({ configuredPercent: 0, livePercent: 100, source: "provider", observed: { decisions: expect.any(Number) } });
    expect(byId.kept).toMatchObject({ configuredPercent: 100, livePercent: 0, source: "provider" });
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/^strangler_rollout_percent\{route="moved"\} 100$/m);
    expect(metrics).toMatch(/^strangler_rollout_percent\{route="kept"\} 0$/m);
  });

  it("the dashboard, in headless Chromium, shows the provider's observed split", async () => {
    for (let i = 0; i < 5; i++) await (await fetch(`${proxy.url}/moved`, { headers: { "x-user-id": `d${i}` } })).arrayBuffer();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${proxy.adminUrl}/dashboard`);
      await page.waitForSelector('tr[data-route="moved"] .live-percent');
      expect(await page.locator('tr[data-route="moved"] .live-percent').textContent()).toMatch(/^~100% provider, \d+ decisions$/);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
