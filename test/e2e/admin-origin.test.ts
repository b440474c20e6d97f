import { request as httpRequest } from "node:http";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const TOKEN = "origin-test-token-0123456789";

/** A raw request to the admin listener, with any Host header (fetch may not set one). */
function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; json: { error?: { code: string } } & Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method, headers: { ...headers, ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** One route, "r", at 50% between two names for the same fixture: enough state for a change to show. */
function oneRoute(url: string, extra: Record<string, unknown> = {}) {
  return { backends: { legacy: { url }, svc: { url } }, routes: [{ id: "r", match: { path: "/r" }, target: "svc", rollout: { percent: 50 } }], ...extra };
}

describe("the admin listener refuses what a web page could make a browser send", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let proxy: Strangler;
  let host: string;

  beforeAll(async () => {
    legacy = await startFixture((_req, res) => res.end("ok"));
    proxy = await startTestProxy(
      writeConfig(temp.dir, oneRoute(legacy.url, { admin: { allowedHosts: ["proxy-1.internal"] } })),
    );
    host = new URL(proxy.adminUrl).host;
  });
  afterAll(async () => {
    await proxy.close();
    await legacy.close();
    temp.remove();
  });

  const livePercent = async () => ((await (await fetch(`${proxy.adminUrl}/api/routes/r`)).json()) as { rollout: { livePercent: number } }).rollout.livePercent;
  const auditCount = async () => ((await (await fetch(`${proxy.adminUrl}/api/audit?route=r`)).json()) as { entries: unknown[] }).entries.length;
  const rollback = (headers: Record<string, string>, body = JSON.stringify({ reason: "csrf" })) => raw(proxy.adminUrl, "POST", "/api/routes/r/rollback", { host, ...headers }, body);

  it.each([
    ["a text/plain body (what a cross-site form sends)", { "content-type": "text/plain" }, 415, "unsupported_media_type"],
    ["a form-urlencoded body", { "content-type": "application/x-www-form-urlencoded" }, 415, "unsupported_media_type"],
    ["a cross-site Origin", { "content-type": "application/json", origin: "http://evil.example" }, 403, "cross_origin_refused"],
    ["Origin: null (a sandboxed page)", { "content-type": "application/json", origin: "null" }, 403, "cross_origin_refused"],
    ["Sec-Fetch-Site: cross-site", { "content-type": "application/json", "sec-fetch-site": "cross-site" }, 403, "cross_origin_refused"],
    ["Sec-Fetch-Site: same-site (another port of this host)", { "content-type": "application/json", "sec-fetch-site": "same-site" }, 403, "cross_origin_refused"],
    ["a Host that is not the listener's (DNS rebinding)", { "content-type": "application/json", host: "attacker.example:9901" }, 403, "host_not_allowed"],
  ])("refuses a change with %s, leaving state and audit as they were", async (_what, headers, status, code) => {
    const [before, audited] = [await livePercent(), await auditCount()];
    expect(before).toBe(50);
    const res = await rollback(headers as Record<string, string>);
    expect(res.status).toBe(status);
    expect(res.json.error?.code).toBe(code);
    expect(await livePercent()).toBe(before);
    expect(await auditCount()).toBe(audited);
  });

  it("refuses reads under a foreign Host too (a rebound page must not read the API or the dashboard)", async () => {
    for (const path of ["/api/routes", "/api/audit", "/dashboard"]) {
      const res = await raw(proxy.adminUrl, "GET", path, { host: "attacker.example" });
      expect(res.status).toBe(403);
      expect(res.json.error?.code).toBe("host_not_allowed");
    }
    // Probes and scrapes name the pod or node: they carry no secrets and answer under any Host.
    expect((await raw(proxy.adminUrl, "GET", "/healthz", { host: "10.1.2.3:9901" })).status).toBe(200);
  });

  it("accepts its own: same-origin Origin, localhost, an allowed host name, and the CLI's plain JSON", async () => {
    expect((await rollback({ "content-type": "application/json; charset=utf-8", origin: `http://${host}`, "sec-fetch-site": "same-origin" })).status).toBe(200);
    expect((await rollback({ "content-type": "application/json", host: `localhost:${proxy.adminPort}` })).status).toBe(200);
    expect((await rollback({ "content-type": "application/json", host: "proxy-1.internal:9901", origin: "http://proxy-1.internal:9901" })).status).toBe(200);
    expect((await rollback({ "content-type": "application/json" })).status).toBe(200);
    expect(await livePercent()).toBe(0);
    const { entries } = (await (await fetch(`${proxy.adminUrl}/api/audit?route=r`)).json()) as { entries: Array<{ action: string }> };
    expect(entries.filter((e) => e.action === "rollback")).toHaveLength(4); // and none from the refused ones
  });
});

describe("a cross-site page in Chromium cannot turn a dial, with or without the operator's credentials", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let evilSite: Fixture;
  let proxy: Strangler;
  let browser: Browser;

  beforeAll(async () => {
    legacy = await startFixture((_req, res) => res.end("ok"));
    proxy = await startTestProxy(
      writeConfig(temp.dir, oneRoute(legacy.url)),
      { adminTokens: [{ label: "ops", token: TOKEN }] },
    );
    // The attacker's page: a form that posts a JSON-looking text/plain body to the admin API, sent at once.
    const target = `${proxy.adminUrl}/api/routes/r/rollback`;
    evilSite = await startFixture((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(`<form id=f method=POST enctype=text/plain action="${target}"><input name='{"reason":"pwned","x":"' value='"}'></form><script>document.getElementById("f").submit()</script>`);
    });
    // evil.example is the attacker's name; it resolves to this machine, as a rebinding attack makes it.
    browser = await launchChromium(["--host-resolver-rules=MAP evil.example 127.0.0.1"]);
  });
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await Promise.all([legacy?.close(), evilSite?.close()]);
    temp.remove();
  });

  const livePercent = async () =>
    ((await (await fetch(`${proxy.adminUrl}/api/routes/r`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { rollout: { livePercent: number } }).rollout.livePercent;

  it("a form on another site posting to the API is refused, though the browser holds the dashboard's credentials", async () => {
    const context = await browser.newContext({ httpCredentials: { username: "ops", password: TOKEN } });
    try {
      const page = await context.newPage();
      // The operator has the dashboard open: the browser now sends Basic credentials to the admin origin.
      expect((await page.goto(`${proxy.adminUrl}/dashboard`))?.status()).toBe(200);
      const answered = page.waitForResponse((r) => r.url().includes("/api/routes/r/rollback"));
      await page.goto(`http://evil.example:${evilSite.port}/`);
      const response = await answered;
      console.log(`cross-site form post: ${response.status()} ${await response.text()}`);
      expect([403, 415]).toContain(response.status());
      expect(await livePercent()).toBe(50);
    } finally {
      await context.close();
    }
  });

  it("a rebound name reaching the listener is refused before any data is read", async () => {
    const context = await browser.newContext({ httpCredentials: { username: "ops", password: TOKEN } });
    try {
      const page = await context.newPage();
      const res = await page.goto(`http://evil.example:${proxy.adminPort}/api/routes`);
      expect(res?.status()).toBe(403);
      expect(await res?.json()).toMatchObject({ error: { code: "host_not_allowed" } });
    } finally {
      await context.close();
    }
  });
});
