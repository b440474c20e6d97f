import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { getRequestListener } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCatalogApp } from "../../extracted-services/catalog/src/app.ts";
import { openDemoDatabase } from "../../demo-data/schema.ts";
import type { Lookup } from "../../src/proxy/dns-refresh.ts";
import type { Strangler } from "../../src/strangler.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/wait.ts";
import { launchChromium } from "../helpers/chromium.ts";

/**
 * A backend of several instances: three real catalog services (the demo's), each behind a switch the test
 * turns: answer normally, slowly, fail its health check, or die with requests in flight.
 */
interface Instance {
  readonly url: string;
  readonly port: number;
  /** Requests served other than health checks, and those that were retries. */
  served: number;
  retries: number;
  inFlightRetries: number;
  maxInFlightRetries: number;
  delayMs: number;
  healthStatus: number;
  /** Connections open to it now. */
  openConnections(): number;
  /** Destroys every connection and stops listening, as a process that died. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

async function startInstance(handler: (req: IncomingMessage, res: ServerResponse) => void, host = "127.0.0.1", port = 0): Promise<Instance> {
  const sockets = new Set<Socket>();
  let server: Server;
  const instance: Instance = {
    url: "",
    port: 0,
    served: 0,
    retries: 0,
    inFlightRetries: 0,
    maxInFlightRetries: 0,
    delayMs: 0,
    healthStatus: 200,
    openConnections: () => sockets.size,
    async kill() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async close() {
      if (server.listening) await instance.kill();
    },
  };
  server = createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(instance.healthStatus, { "content-type": "application/json" }).end('{"status":"checked"}');
      return;
    }
    instance.served++;
    const retry = req.headers["x-strangler-attempt"] === "2";
    if (retry) {
      instance.retries++;
      instance.maxInFlightRetries = Math.max(instance.maxInFlightRetries, ++instance.inFlightRetries);
      res.once("close", () => instance.inFlightRetries--);
    }
    if (instance.delayMs > 0) setTimeout(() => handler(req, res), instance.delayMs);
    else handler(req, res);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.listen(port, host);
  await once(server, "listening");
  const address = server.address() as AddressInfo;
  return Object.assign(instance, { port: address.port, url: `http://${host}:${address.port}` });
}

/** Sends `count` GETs, `concurrency` at a time; resolves with each one's status (0 for a network error). */
async function load(url: (i: number) => string, count: number, concurrency: number, init: RequestInit = {}): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        try {
          const res = await fetch(url(i), init);
          await res.arrayBuffer();
          statuses[i] = res.status;
        } catch {
          statuses[i] = 0;
        }
      }
    }),
  );
  return statuses;
}

/** A counter's value from the proxy's /metrics (0 when the series is absent). */
async function metric(proxy: Strangler, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) || !wanted.every((w) => line.includes(w))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

interface DestinationView {
  readonly destination: string;
  readonly state: string;
  readonly healthy: boolean;
}

async function destinationsOf(proxy: Strangler, backend: string): Promise<{ failingOpen: boolean; destinations: DestinationView[] }> {
  return (await (await fetch(`${proxy.adminUrl}/api/backends/${backend}`)).json()) as { failingOpen: boolean; destinations: DestinationView[] };
}

describe("a backend of three catalog instances: balanced, health-checked, retried", () => {
  const temp = makeTempDir("strangler-fleet-");
  let monolith: Instance;
  const catalogs: Instance[] = [];
  let proxy: Strangler;

  beforeAll(async () => {
    const db = openDemoDatabase(join(temp.dir, "catalog.db"), ["catalog"]);
    const app = createCatalogApp(db);
    const serve = getRequestListener(app.fetch);
    monolith = await startInstance((_req, res) => void res.writeHead(200, { "content-type": "application/json" }).end('{"from":"monolith"}'));
    for (let i = 0; i < 3; i++) catalogs.push(await startInstance(serve));
    const config = writeConfig(temp.dir, {
      backends: {
        legacy: { url: monolith.url },
        catalog: {
          urls: catalogs.map((c) => c.url),
          // Quick to decide, for a test; the timeout wide enough that a busy machine's stall is not a failure.
          healthCheck: { path: "/healthz", intervalMs: 250, timeoutMs: 200, unhealthyThreshold: 2, healthyThreshold: 1 },
          circuitBreaker: { failures: 3, cooldownMs: 60_000 },
        },
      },
      routes: [{ id: "product-detail", match: { methods: ["GET"], path: "/api/products/:id" }, target: "catalog", rollout: { percent: 100 } }],
    });
    proxy = await startTestProxy(config);
  });

  afterAll(async () => {
    await proxy?.close();
    await Promise.all([monolith?.close(), ...catalogs.map((c) => c.close())]);
    temp.remove();
  });

  const product = (i: number) => `${proxy.url}/api/products/p_${String((i % 20) + 1).padStart(3, "0")}`;
  const servedNow = () => catalogs.map((c) => c.served);
  const since = (before: number[]) => catalogs.map((c, i) => c.served - (before[i] as number));

  it("spreads requests over every instance", async () => {
    const before = servedNow();
    const statuses = await load(product, 90, 6);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    for (const n of since(before)) expect(n).toBeGreaterThan(10);
  });

  it("gives an instance failing its health checks no requests, and takes it back once it passes again", async () => {
    const sick = catalogs[2] as Instance;
    sick.healthStatus = 503;
    await until(() => destinationsOf(proxy, "catalog"), (v) => v.destinations.some((d) => d.state === "unhealthy"));
    const before = servedNow();
    expect((await load(product, 60, 6)).every((s) => s === 200)).toBe(true);
    expect(since(before)[2]).toBe(0);
    expect(await metric(proxy, "strangler_destination_healthy", { destination: sick.url })).toBe(0);

    sick.healthStatus = 200;
    await until(() => destinationsOf(proxy, "catalog"), (v) => v.destinations.every((d) => d.state === "in_service"));
    const after = servedNow();
    expect((await load(product, 60, 6)).every((s) => s === 200)).toBe(true);
    expect(since(after)[2]).toBeGreaterThan(0);
  });

  it("sends fewer requests to a slow instance (the fewer in flight of two)", async () => {
    const slow = catalogs[1] as Instance;
    slow.delayMs = 100;
    try {
      const before = servedNow();
      expect((await load(product, 90, 6)).every((s) => s === 200)).toBe(true);
      const [a, b, c] = since(before) as [number, number, number];
      expect(b).toBeLessThan(a);
      expect(b).toBeLessThan(c);
    } finally {
      slow.delayMs = 0;
    }
  });

  it("fails open when every instance fails its checks: all still take traffic, and it shows", async () => {
    for (const c of catalogs) c.healthStatus = 503;
    try {
      await until(() => destinationsOf(proxy, "catalog"), (v) => v.failingOpen);
      expect(await metric(proxy, "strangler_backend_fail_open", { backend: "catalog" })).toBe(1);
      const before = servedNow();
      expect((await load(product, 60, 6)).every((s) => s === 200)).toBe(true);
      for (const n of since(before)) expect(n).toBeGreaterThan(0);
    } finally {
      for (const c of catalogs) c.healthStatus = 200;
    }
    await until(() => destinationsOf(proxy, "catalog"), (v) => v.destinations.every((d) => d.state === "in_service"));
  });

  it("an instance killed with requests in flight fails no client request: they are retried on another", async () => {
    const victim = catalogs[0] as Instance;
    victim.delayMs = 150; // so that requests are in flight on it when it dies
    const resetsBefore = await metric(proxy, "strangler_upstream_retries_total", { backend: "catalog", reason: "reset" });
    const running = load(product, 120, 4);
    await until(async () => victim.served, (n) => n > 0 && victim.served - victim.retries > 0, 5_000, 5);
    await new Promise((r) => setTimeout(r, 60));
    await victim.kill();
    const statuses = await running;
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // Those cut in flight were retried (reset); any sent after the death, too (connect_failure) until its breaker opened.
    expect(await metric(proxy, "strangler_upstream_retries_total", { backend: "catalog", reason: "reset" })).toBeGreaterThan(resetsBefore);
    // Ejected by its breaker (and its health checks): the others serve what follows.
    await until(() => destinationsOf(proxy, "catalog"), (v) => v.destinations.some((d) => d.destination === victim.url && d.state !== "in_service"));
    expect((await load(product, 40, 4)).every((s) => s === 200)).toBe(true);
  });

  it("the cockpit lists each destination with its state, in Chromium", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${proxy.adminUrl}/dashboard`);
      await page.waitForSelector("#backends");
      expect(await page.locator("#backends summary").textContent()).toMatch(/^2 backends, 4 destinations · \d out of service/);
      await page.locator("#backends summary").click();
      const rows = await page.locator("#backends tbody tr").evaluateAll((trs) => trs.map((tr) => [tr.getAttribute("data-backend"), tr.getAttribute("data-destination"), tr.getAttribute("data-state")]));
      expect(rows).toHaveLength(4);
      const dead = rows.find((r) => r[1] === catalogs[0]?.url);
      expect(dead?.[2]).toMatch(/ejected|unhealthy/);
      expect(await page.locator(`#backends tr[data-destination="${catalogs[0]?.url}"] td`).nth(2).textContent()).toMatch(/ejected \(breaker open\) until|unhealthy \(health checks\)/);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it("`strangler backends` and the admin API show each destination's state", async () => {
    const view = await destinationsOf(proxy, "catalog");
    expect(view.destinations.map((d) => d.destination).sort()).toEqual(catalogs.map((c) => c.url).sort());
    expect(view.destinations.find((d) => d.destination === catalogs[0]?.url)?.state).toMatch(/ejected|unhealthy/);
    const missing = await fetch(`${proxy.adminUrl}/api/backends/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("backend_not_found");
  });
});

describe("a reload that changes a backend's instances", () => {
  const temp = makeTempDir("strangler-fleet-reload-");
  const instances: Instance[] = [];
  let proxy: Strangler;
  /** Writes the config file with `urls` as the backend's instances (the proxy reads it at start and at reload). */
  const writeWith = (urls: string[]) =>
    writeConfig(temp.dir, { backends: { legacy: { url: instances[0]!.url }, svc: { urls } }, routes: [{ id: "all", match: { path: "/svc/*" }, target: "svc", rollout: { percent: 100 } }] });

  beforeAll(async () => {
    for (const name of ["one", "two"]) instances.push(await startInstance((_req, res) => void setTimeout(() => res.writeHead(200).end(name), 50)));
    proxy = await startTestProxy(writeWith([instances[0]!.url]));
  });

  afterAll(async () => {
    await proxy?.close();
    await Promise.all(instances.map((i) => i.close()));
    temp.remove();
  });

  it("adds an instance without dropping a request in flight on the old pool", async () => {
    const inFlight = load((i) => `${proxy.url}/svc/${i}`, 40, 8);
    await new Promise((r) => setTimeout(r, 60));
    writeWith(instances.map((i) => i.url));
    expect(await proxy.reload()).toEqual({ applied: true });
    expect((await inFlight).filter((s) => s !== 200)).toEqual([]);
    const served = await load((i) => `${proxy.url}/svc/${i}`, 40, 8);
    expect(served.filter((s) => s !== 200)).toEqual([]);
    expect(instances[1]!.served).toBeGreaterThan(5);
    const view = await destinationsOf(proxy, "svc");
    expect(view.destinations.map((d) => d.destination)).toEqual(instances.map((i) => i.url));
  });
});

describe("retries within a budget: a storm cannot form", () => {
  const temp = makeTempDir("strangler-storm-");
  const failing: Instance[] = [];
  let monolith: Instance;
  let proxy: Strangler;

  beforeAll(async () => {
    // Every destination takes the request, waits, and resets the connection without answering.
    for (let i = 0; i < 3; i++) failing.push(await startInstance((req) => void setTimeout(() => req.socket.destroy(), 40)));
    monolith = await startInstance((_req, res) => void res.end("monolith"));
    const config = writeConfig(temp.dir, {
      backends: {
        legacy: { url: monolith.url },
        // A breaker that never opens: the budget alone must hold the retries.
        svc: { urls: failing.map((f) => f.url), circuitBreaker: { failures: 1_000_000, cooldownMs: 1_000 }, retries: { budgetPercent: 20, minConcurrent: 3 } },
      },
      routes: [{ id: "all", match: { path: "/svc/*" }, target: "svc", rollout: { percent: 100 } }],
    });
    proxy = await startTestProxy(config);
  });

  afterAll(async () => {
    await proxy?.close();
    await Promise.all([monolith?.close(), ...failing.map((f) => f.close())]);
    temp.remove();
  });

  it("with every destination failing, retries in flight stay within 20% of the requests in flight (at least 3), and each request is retried at most once", async () => {
    const requests = 200;
    const concurrency = 40;
    const statuses = await load((i) => `${proxy.url}/svc/${i}`, requests, concurrency);
    expect(statuses.every((s) => s === 502)).toBe(true);
    const attempts = failing.reduce((n, f) => n + f.served, 0);
    const retries = failing.reduce((n, f) => n + f.retries, 0);
    const maxConcurrentRetries = failing.reduce((n, f) => n + f.maxInFlightRetries, 0);
    // At most 40 requests and 20% of them as retries are in flight: 8 (the floor, 3, is lower).
    expect(maxConcurrentRetries).toBeLessThanOrEqual(Math.floor(((concurrency + 8) * 20) / 100) + 3);
    expect(attempts).toBe(requests + retries);
    expect(retries).toBeLessThan(requests);
    expect(await metric(proxy, "strangler_upstream_retries_total", { backend: "svc", reason: "reset" })).toBe(retries);
    expect(await metric(proxy, "strangler_upstream_retries_skipped_total", { backend: "svc", why: "budget" })).toBe(requests - retries);
    // Every retry gave its place back: the budget is whole again.
    const after = (await (await fetch(`${proxy.adminUrl}/api/backends/svc`)).json()) as { retries: { inFlight: number } };
    expect(after.retries.inFlight).toBe(0);
  });

  it("never retries a write without an idempotency key, and retries one with it", async () => {
    const before = failing.reduce((n, f) => n + f.retries, 0);
    const post = await fetch(`${proxy.url}/svc/orders`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    expect(post.status).toBe(502);
    expect(failing.reduce((n, f) => n + f.retries, 0)).toBe(before);
    const keyed = await fetch(`${proxy.url}/svc/orders`, { method: "POST", body: "{}", headers: { "content-type": "application/json", "idempotency-key": "k-1" } });
    expect(keyed.status).toBe(502);
    expect(failing.reduce((n, f) => n + f.retries, 0)).toBe(before + 1);
  });
});

describe("a destination named by a host name follows its addresses", () => {
  const temp = makeTempDir("strangler-dns-");
  const servers: Instance[] = [];
  let monolith: Instance;
  let proxy: Strangler;
  let addresses = ["127.0.0.2"];
  const lookups: string[] = [];
  const lookup: Lookup = async (hostname) => {
    lookups.push(hostname);
    return addresses.map((address) => ({ address, family: 4 }));
  };

  beforeAll(async () => {
    const answer = (name: string) => (_req: IncomingMessage, res: ServerResponse) => void res.writeHead(200, { "content-type": "text/plain" }).end(name);
    const first = await startInstance(answer("two"), "127.0.0.2");
    servers.push(first, await startInstance(answer("three"), "127.0.0.3", first.port));
    monolith = await startInstance((_req, res) => void res.end("monolith"));
    const config = writeConfig(temp.dir, {
      backends: { legacy: { url: monolith.url }, svc: { url: `http://svc.fleet.test:${first.port}`, dnsRefreshMs: 200 } },
      routes: [{ id: "all", match: { path: "/svc/*" }, target: "svc", rollout: { percent: 100 } }],
    });
    proxy = await startTestProxy(config, { lookup });
  });

  afterAll(async () => {
    await proxy?.close();
    await Promise.all([monolith?.close(), ...servers.map((s) => s.close())]);
    temp.remove();
  });

  it("sends to the address the name resolves to, then to the new one within the interval, draining the old", async () => {
    const body = async () => (await fetch(`${proxy.url}/svc/x`)).text();
    await until(body, (b) => b === "two");
    expect(lookups).toContain("svc.fleet.test");
    addresses = ["127.0.0.3"];
    const moved = Date.now();
    await until(body, (b) => b === "three", 5_000);
    expect(Date.now() - moved).toBeLessThan(2_000);
    // Every request now goes to the new address, and the old one's connections close once idle.
    expect(new Set(await Promise.all(Array.from({ length: 20 }, body)))).toEqual(new Set(["three"]));
    const view = await destinationsOf(proxy, "svc");
    expect(view.destinations.map((d) => d.destination)).toEqual([`http://127.0.0.3:${servers[0]?.port}`]);
    // The address that left was drained: its pool closed its idle connections.
    expect(await until(async () => servers[0]!.openConnections(), (n) => n === 0, 5_000)).toBe(0);
  });
});
