/**
 * `npm run screenshots`: retakes the README's dashboard screenshots from the real demo at 1280×800.
 *
 * Starts `npm run demo` on free ports over a throwaway data dir, sends demo traffic for a while, starts
 * the promotion of order-detail and lets it take its first steps, then photographs the overview and the
 * order-detail route page in Debian's headless Chromium into docs/dashboard.png and
 * docs/dashboard-route.png. Stops the demo and removes its data on the way out.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SECONDS_OF_TRAFFIC = Number(process.env.SECONDS ?? 45);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const [port, adminPort, legacyPort, catalogPort, ordersPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
const dataDir = mkdtempSync(join(tmpdir(), "strangler-screenshots-"));
const env = { ...process.env, DATA_DIR: dataDir, PORT: String(port), ADMIN_PORT: String(adminPort), LEGACY_PORT: String(legacyPort), CATALOG_PORT: String(catalogPort), ORDERS_PORT: String(ordersPort) };
const demo = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
const admin = `http://127.0.0.1:${adminPort}`;
const post = (path: string, body: unknown) => fetch(`${admin}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

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
  await sleep(5_000);
  const started = await post("/api/routes/order-detail/promotion/start", { reason: "evidence looks good: promote by steps" });
  if (!started.ok) throw new Error(`could not start the promotion: ${await started.text()}`);
  await new Promise((resolve) => traffic.once("exit", resolve));

  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${admin}/dashboard`);
    await page.waitForSelector("#routes tr[data-route] svg.sparkline");
    await sleep(2_500);
    await page.screenshot({ path: join(ROOT, "docs", "dashboard.png") });
    await page.goto(`${admin}/dashboard#/route/order-detail`);
    await page.waitForSelector("#chart-p99 .x-tick");
    await sleep(2_500);
    await page.screenshot({ path: join(ROOT, "docs", "dashboard-route.png") });
    console.log("written docs/dashboard.png and docs/dashboard-route.png (1280×800)");
  } finally {
    await browser.close();
  }
} finally {
  demo.kill("SIGTERM");
  await new Promise((resolve) => (demo.exitCode !== null ? resolve(undefined) : demo.once("exit", resolve)));
  rmSync(dataDir, { recursive: true, force: true });
}
