import { get } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { capturingLogger } from "../helpers/log-capture.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

/** What a fixture was asked: the path (with query) and Host of each request, shadow copies included. */
interface Seen {
  readonly url: string;
  readonly host: string | undefined;
  readonly shadow: boolean;
}

function echoing(name: string, seen: Seen[], price: number) {
  return startFixture((req, res) => {
    seen.push({ url: req.url ?? "", host: req.headers.host, shadow: req.headers["x-strangler-shadow"] === "1" });
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ served: name, price }));
  });
}

describe("a route's rewrite of the path (and Host) its target is sent", () => {
  const temp = makeTempDir("strangler-rewrite-");
  const monolithSeen: Seen[] = [];
  const serviceSeen: Seen[] = [];
  let monolith: Fixture;
  let service: Fixture;
  let proxy: Strangler;
  const log = capturingLogger();

  beforeAll(async () => {
    monolith = await echoing("monolith", monolithSeen, 4.99);
    service = await echoing("service", serviceSeen, 5.99);
    const config = writeConfig(temp.dir, {
      backends: { legacy: { url: monolith.url }, catalog: { url: `${service.url}/base` } },
      accessLog: { sampleRatio: 1 },
      routes: [
        // Sent by the template to the service's own path; the client's Host kept.
        {
          id: "detail",
          match: { methods: ["GET"], path: "/api/products/:id" },
          target: "catalog",
          rollout: { percent: 100, key: { header: "x-user" } },
          rewrite: { path: "/v2/catalog/products/:id", host: "client" },
        },
        // Everything to the monolith, recorded, and replayed against the service at its own paths.
        { id: "records", match: { methods: ["GET"], path: "/api/records/:id" }, target: "catalog", rollout: { percent: 0 }, rewrite: { path: "/r/:id" } },
        // Half the users on each side, every request shadowed to the other: both directions of the rewrite.
        {
          id: "reviews",
          match: { methods: ["GET"], path: "/api/reviews/*" },
          target: "catalog",
          rollout: { percent: 50, key: { header: "x-user" } },
          rewrite: { stripPrefix: "/api" },
          shadow: { percent: 100 },
        },
      ],
    });
    proxy = await startTestProxy(config, { logger: log.logger });
  });

  afterAll(async () => {
    await proxy?.close();
    await Promise.all([monolith?.close(), service?.close()]);
    temp.remove();
  });

  it("sends the target the template's path, under the backend's base path, with the query and the client's Host", async () => {
    // fetch cannot set Host: node:http can.
    const body = await new Promise<string>((resolve, reject) => {
      get(`${proxy.url}/api/products/42?currency=EUR`, { headers: { host: "shop.example.test", "x-user": "u1" } }, (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => resolve(text));
      }).on("error", reject);
    });
    expect(JSON.parse(body)).toEqual({ served: "service", price: 5.99 });
    expect(serviceSeen.at(-1)).toEqual({ url: "/base/v2/catalog/products/42?currency=EUR", host: "shop.example.test", shadow: false });
    const line = log.lines().find((l) => l.log === "access" && l.route === "detail");
    expect(line).toMatchObject({ path: "/api/products/42", upstreamPath: "/v2/catalog/products/42", upstream: service.url });
  });

  it("leaves the monolith the client's path, and shadows each side with its own path; an example shows both", async () => {
    monolithSeen.length = 0;
    serviceSeen.length = 0;
    // Users on either side of the split, until each side has answered once.
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${proxy.url}/api/reviews/7/latest`, { headers: { "x-user": `user-${i}` } });
      expect(res.status).toBe(200);
    }
    await proxy.shadows.flush();
    const monolithPaths = new Set(monolithSeen.map((s) => s.url));
    const servicePaths = new Set(serviceSeen.map((s) => s.url));
    expect(monolithPaths).toEqual(new Set(["/api/reviews/7/latest"]));
    expect(servicePaths).toEqual(new Set(["/base/reviews/7/latest"]));
    // Both sides answered for real and as a shadow copy.
    expect(new Set(monolithSeen.map((s) => s.shadow))).toEqual(new Set([true, false]));
    expect(new Set(serviceSeen.map((s) => s.shadow))).toEqual(new Set([true, false]));
    expect(new Set(serviceSeen.map((s) => s.host))).toEqual(new Set([new URL(service.url).host]));

    const { signatures } = (await (await fetch(`${proxy.adminUrl}/api/routes/reviews/divergences`)).json()) as {
      signatures: Array<{ path: string; kind: string; examples: Array<{ path: string; targetPath?: string }> }>;
    };
    const price = signatures.find((s) => s.path === "$.price");
    expect(price?.examples[0]).toMatchObject({ path: "/api/reviews/7/latest", targetPath: "/reviews/7/latest" });
  });

  it("replays a stored example to the target at its own path", async () => {
    const { signatures } = (await (await fetch(`${proxy.adminUrl}/api/routes/reviews/divergences`)).json()) as {
      signatures: Array<{ id: number; path: string; examples: Array<{ id: number }> }>;
    };
    const price = signatures.find((s) => s.path === "$.price");
    serviceSeen.length = 0;
    const res = await fetch(`${proxy.adminUrl}/api/divergences/${price?.id}/examples/${price?.examples[0]?.id}/replay`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { request: unknown }).request).toMatchObject({ path: "/api/reviews/7/latest", targetPath: "/reviews/7/latest" });
    expect(serviceSeen.map((s) => s.url)).toEqual(["/base/reviews/7/latest"]);
  });

  it("replays a recording against the route's target at its own paths", async () => {
    const post = async (path: string, body: unknown) => fetch(`${proxy.adminUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const recording = (await (await post("/api/routes/records/recordings", { rate: 1, max: 100, reason: "replay against the service" })).json()) as { id: number };
    for (let i = 1; i <= 3; i++) expect((await fetch(`${proxy.url}/api/records/${i}`, { headers: { "x-user": `r${i}` } })).status).toBe(200);
    await expect.poll(async () => ((await (await fetch(`${proxy.adminUrl}/api/recordings/${recording.id}`)).json()) as { exchanges: number }).exchanges).toBe(3);
    expect((await post(`/api/recordings/${recording.id}/stop`, { reason: "enough" })).status).toBe(200);
    serviceSeen.length = 0;
    const run = (await (await post(`/api/recordings/${recording.id}/replays`, { against: "catalog", pacing: { mode: "concurrency", limit: 1 }, reason: "candidate" })).json()) as { id: number };
    await expect.poll(async () => ((await (await fetch(`${proxy.adminUrl}/api/replays/${run.id}`)).json()) as { status: string }).status, { timeout: 10_000 }).not.toBe("running");
    expect(serviceSeen.map((s) => s.url).sort()).toEqual(["/base/r/1", "/base/r/2", "/base/r/3"]);
  });

  it("shows each route's rewrite in the admin API", async () => {
    const route = (await (await fetch(`${proxy.adminUrl}/api/routes/detail`)).json()) as { rewrite: unknown };
    expect(route.rewrite).toEqual({ path: "/v2/catalog/products/:id", host: "client" });
  });

  it("refuses at load a rewrite that cannot apply, naming the route and the key", async () => {
    const bad = writeConfig(
      temp.dir,
      {
        backends: { legacy: { url: monolith.url }, catalog: { url: service.url } },
        routes: [{ id: "broken", match: { path: "/api/products/:id" }, target: "catalog", rollout: { percent: 1 }, rewrite: { path: "/v2/products/:sku" } }],
      },
      "bad.config.ts",
    );
    await expect(startTestProxy(bad)).rejects.toThrow(/routes\[0\] \(id "broken"\)\.rewrite\.path: uses :sku, which the route's path "\/api\/products\/:id" does not have/);
  });
});
