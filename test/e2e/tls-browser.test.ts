import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { systemClock } from "../../src/guard/clock.ts";
import { homeTrusting, launchChromium } from "../helpers/chromium.ts";
import { startDemoBackends, startShippedProxy, type DemoBackends } from "../helpers/demo.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { createThrowawayCa, writePem } from "../helpers/tls.ts";
import type { Strangler } from "../../src/strangler.ts";

/** The protocol the page's own document came over (`h2`, `http/1.1`), as the page sees it (no DOM types here). */
const NEXT_HOP_PROTOCOL = "performance.getEntriesByType('navigation')[0].nextHopProtocol";

/**
 * The demo as `npm run demo -- --tls` runs it (the shipped routes.config.ts with TLS_CERT and TLS_KEY),
 * opened in Chromium that trusts the throwaway CA as a user would (its NSS database), not one told to
 * ignore certificate errors.
 */
describe("Chromium over HTTPS with a trusted throwaway CA", () => {
  const temp = makeTempDir();
  const ca = createThrowawayCa();
  let demo: DemoBackends;
  let running: { proxy: Strangler; close(): Promise<void> };
  let browser: Browser;
  const saved = { cert: process.env.TLS_CERT, key: process.env.TLS_KEY };

  beforeAll(async () => {
    demo = await startDemoBackends();
    const files = writePem(temp.dir, "tls", ca.issue(["localhost", "127.0.0.1"]));
    process.env.TLS_CERT = files.cert;
    process.env.TLS_KEY = files.key;
    running = await startShippedProxy(demo, systemClock);
    browser = await launchChromium([], { home: homeTrusting(temp.dir, ca.cert) });
  });
  afterAll(async () => {
    await browser?.close();
    await running?.close();
    await demo?.close();
    process.env.TLS_CERT = saved.cert;
    process.env.TLS_KEY = saved.key;
    if (saved.cert === undefined) delete process.env.TLS_CERT;
    if (saved.key === undefined) delete process.env.TLS_KEY;
    temp.remove();
  });

  it("loads a page of the demo over HTTP/2, the certificate trusted", async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${running.proxy.url}/api/products/p_001`);
    expect(response?.status()).toBe(200);
    expect(await response?.headerValue("x-served-by")).toBe("catalog");
    const security = await response?.securityDetails();
    expect(security?.protocol).toMatch(/TLS 1\.3|TLS 1\.2/);
    expect(await page.evaluate(NEXT_HOP_PROTOCOL)).toBe("h2");
    expect(await page.textContent("body")).toContain("p_001");
    await page.close();
  });

  it("refuses the same page without the CA trusted (no certificate errors are being ignored)", async () => {
    const untrusting = await launchChromium();
    try {
      const page = await untrusting.newPage();
      const failure = await page.goto(`${running.proxy.url}/api/products/p_001`).then(() => undefined, (e: Error) => e.message);
      expect(failure).toMatch(/ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await untrusting.close();
    }
  });

  it("opens the dashboard on the admin listener over HTTPS", async () => {
    expect(running.proxy.adminUrl).toMatch(/^https:/);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const response = await page.goto(`${running.proxy.adminUrl}/dashboard`);
    expect(response?.status()).toBe(200);
    expect(await page.evaluate(NEXT_HOP_PROTOCOL)).toBe("http/1.1");
    await page.waitForSelector("text=products-list");
    expect(errors).toEqual([]);
    await page.close();
  });
});
