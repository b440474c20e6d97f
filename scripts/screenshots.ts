/**
 * `npm run screenshots`: retakes the dashboard screenshots (docs/cockpit.md) from the real demo at 1280×800.
 *
 * Starts `npm run demo` on free ports over a throwaway data dir and sends demo traffic for SECONDS
 * (default 120). Meanwhile it starts the promotion of order-detail, lets it take its first steps, then
 * makes the orders service fail until the guard halts the route (the README's guardrail story). Then it
 * photographs, in Debian's headless Chromium: the overview (docs/dashboard.png), order-detail's timeline
 * (docs/dashboard-route.png), and products-list's charts and divergences with one example replayed
 * (docs/dashboard-divergences.png). Stops the demo and removes its data on the way out.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { freePort } from "./free-port.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SECONDS_OF_TRAFFIC = Number(process.env.SECONDS ?? 120);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const [port, adminPort, legacyPort, catalogPort, ordersPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
const dataDir = mkdtempSync(join(tmpdir(), "strangler-screenshots-"));
const env = { ...process.env, DATA_DIR: dataDir, PORT: String(port), ADMIN_PORT: String(adminPort), LEGACY_PORT: String(legacyPort), CATALOG_PORT: String(catalogPort), ORDERS_PORT: String(ordersPort) };
const demo = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
const admin = `http://127.0.0.1:${adminPort}`;
const post = (path: string, body: unknown) => fetch(`${admin}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** Polls `check` every half second until it holds, or fails after `ms`. */
async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await sleep(500);
  }
}

const migration = async (route: string) => (await (await fetch(`${admin}/api/routes/${route}/migration`)).json()) as { state: string; stepIndex: number | null };
const ordersFailure = (status: number) => fetch(`http://127.0.0.1:${ordersPort}/__demo/failure`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ status }) });

try {
  await new Promise<void>((resolve, reject) => {
    let out = "";
    demo.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("demo is up")) resolve();
    });
    demo.once("exit", (code) => reject(new Error(`the demo exited (${code}) before it was up`)));
  });
  const traffic = spawn(process.execPath, ["--import", "tsx", "scripts/traffic.ts"], { cwd: ROOT, env: { ...env, PROXY_URL: `http://127.0.0.1:${port}`, DURATION: String(SECONDS_OF_TRAFFIC) }, stdio: "ignore" });
  const trafficDone = new Promise((resolve) => traffic.once("exit", resolve));
  await sleep(5_000);
  // The README's story: order-detail promoted by evidence, then its service fails and the guard halts it.
  const started = await post("/api/routes/order-detail/promotion/start", { reason: "evidence looks good: promote by steps" });
  if (!started.ok) throw new Error(`could not start the promotion: ${await started.text()}`);
  await until("order-detail at its third step (25%)", async () => ((await migration("order-detail")).stepIndex ?? 0) >= 2, 90_000);
  await ordersFailure(500);
  await until("the guard to halt order-detail", async () => (await migration("order-detail")).state === "halted", 60_000);
  await ordersFailure(0);
  await trafficDone;

  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${admin}/dashboard`);
    await page.waitForSelector("#routes tr[data-route] svg.sparkline");
    await sleep(2_500);
    await page.screenshot({ path: join(ROOT, "docs", "dashboard.png") });
    await page.goto(`${admin}/dashboard#/route/order-detail`);
    await page.waitForSelector("#verdicts li[data-action=halted]");
    await sleep(2_500);
    await page.screenshot({ path: join(ROOT, "docs", "dashboard-route.png") });
    // The divergences of products-list (the catalog's prices as strings), one replayed, and its charts.
    await page.goto(`${admin}/dashboard#/route/products-list`);
    await page.click('#charts button[data-hours="0.25"]');
    await page.waitForSelector("#chart-p99 circle.point");
    await page.locator(".example button.replay").first().click();
    await page.waitForSelector(".replay-result[data-outcome]");
    await page.evaluate("document.getElementById('charts').scrollIntoView()");
    await sleep(500);
    await page.screenshot({ path: join(ROOT, "docs", "dashboard-divergences.png") });
    console.log("written docs/dashboard.png, docs/dashboard-route.png and docs/dashboard-divergences.png (1280×800)");
  } finally {
    await browser.close();
  }
} finally {
  demo.kill("SIGTERM");
  await new Promise((resolve) => (demo.exitCode !== null ? resolve(undefined) : demo.once("exit", resolve)));
  rmSync(dataDir, { recursive: true, force: true });
}
