import { Client } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { eventually } from "../helpers/wait.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

describe("upstream failures", () => {
  const temp = makeTempDir();
  let healthy: Fixture;
  let hanging: Fixture;
  let resetting: Fixture;
  let truncating: Fixture;
  let endless: Fixture;
  let endlessClosedEarly = 0;
  let proxy: Strangler;

  beforeAll(async () => {
    healthy = await startFixture((req, res) => {
      req.resume();
      req.on("end", () => res.end(JSON.stringify({ ok: true })));
    });
    hanging = await startFixture(() => undefined); // accepts, never answers
    resetting = await startFixture((req) => req.socket.destroy());
    truncating = await startFixture((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "100000" });
      res.write(Buffer.alloc(1000, 1));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    endless = await startFixture((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      const timer = setInterval(() => res.write(Buffer.alloc(16 * 1024, 2)), 5);
      res.on("close", () => {
        clearInterval(timer);
        if (!res.writableFinished) endlessClosedEarly++;
      });
    });
    const route = (id: string, path: string, target: string) => ({ id, match: { path }, target, rollout: { percent: 100 } });
    const config = writeConfig(temp.dir, {
      backends: {
        legacy: { url: healthy.url },
        down: { url: "http://127.0.0.1:1" }, // nothing listens on port 1: connection refused
        hanging: { url: hanging.url, responseTimeoutMs: 300 },
        resetting: { url: resetting.url },
        truncating: { url: truncating.url },
        endless: { url: endless.url },
        unresolvable: { url: "http://no-such-host.invalid:80" },
      },
      routes: [
        route("down", "/down/*", "down"),
        route("hanging", "/hanging/*", "hanging"),
        route("resetting", "/resetting/*", "resetting"),
        route("truncating", "/truncating/*", "truncating"),
        route("endless", "/endless/*", "endless"),
        { ...route("endless-shadowed", "/endless-shadowed/*", "endless"), shadow: { percent: 100 } },
        route("unresolvable", "/unresolvable/*", "unresolvable"),
      ],
    });
    proxy = await startTestProxy(config);
  });

  afterAll(async () => {
    await proxy.close();
    await Promise.all([healthy, hanging, resetting, truncating, endless].map((f) => f.close()));
    temp.remove();
  });

  async function expectError(path: string, status: number, code: string, init?: RequestInit): Promise<void> {
    const res = await fetch(`${proxy.url}${path}`, { ...init, headers: { "x-request-id": "req-123", ...init?.headers } });
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error).toMatchObject({ code, requestId: "req-123" });
    expect(body.error.message).toEqual(expect.any(String));
  }

  it("a backend that refuses connections gives 502 upstream_refused", async () => {
    await expectError("/down/x", 502, "upstream_refused");
    await expectError("/down/x", 502, "upstream_refused", { method: "POST", body: "x".repeat(100_000) });
  });

  it("after a 502 to an upload, the client's next request is served (the body is never parsed as a request)", async () => {
    const client = new Client(proxy.url, { connections: 1 } as ConstructorParameters<typeof Client>[1]);
    try {
      const failed = await client.request({ path: "/down/x", method: "POST", body: "x".repeat(200_000) });
      expect(failed.statusCode).toBe(502);
      // Kept alive only when the proxy read the whole body; otherwise it drains it and closes.
      expect(["close", "keep-alive"]).toContain(failed.headers.connection);
      await failed.body.text();
      const next = await client.request({ path: "/anything", method: "GET", headersTimeout: 5_000 });
      expect(next.statusCode).toBe(200);
      await next.body.text();
    } finally {
      await client.close();
    }
  });

  it("a backend that hangs past its response timeout gives 504 upstream_timeout", async () => {
    const started = Date.now();
    await expectError("/hanging/x", 504, "upstream_timeout");
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("a backend that resets before answering gives 502 upstream_reset", async () => {
    await expectError("/resetting/x", 502, "upstream_reset");
  });

  it("a host that does not resolve gives 502 upstream_unresolvable", async () => {
    await expectError("/unresolvable/x", 502, "upstream_unresolvable");
  });

  it("a backend that resets mid-body cuts the client's response instead of completing it wrongly", async () => {
    const res = await fetch(`${proxy.url}/truncating/x`);
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
  });

  it("a client that aborts mid-download closes the upstream exchange", async () => {
    const before = endlessClosedEarly;
    const controller = new AbortController();
    const res = await fetch(`${proxy.url}/endless/x`, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    const aborted = Date.now();
    controller.abort();
    expect(await eventually(() => endlessClosedEarly > before)).toBe(true);
    expect(Date.now() - aborted).toBeLessThan(2_000);
    // No request is left running on the pool, and no socket to the backend stays open.
    expect(proxy.state().backends.get("endless")?.destinations.destinations[0]?.pool.stats.running).toBe(0);
    expect(await eventually(() => endless.openConnections() === 0, 10_000)).toBe(true);
  });

  it("a client that aborts mid-download of a shadowed answer closes the upstream exchange too", async () => {
    const before = endlessClosedEarly;
    const controller = new AbortController();
    const res = await fetch(`${proxy.url}/endless-shadowed/x`, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    expect(await eventually(() => endlessClosedEarly > before)).toBe(true);
    expect(proxy.state().backends.get("endless")?.destinations.destinations[0]?.pool.stats.running).toBe(0);
    expect(await eventually(() => endless.openConnections() === 0, 10_000)).toBe(true);
  });

  it("keeps serving after every failure above", async () => {
    const res = await fetch(`${proxy.url}/anything`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(res.headers.get("x-served-by")).toBe("legacy");
  });
});
