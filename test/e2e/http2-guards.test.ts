import { once } from "node:events";
import { connect as connectHttp2, constants } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/guard/clock.ts";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { h2Request } from "../helpers/tls.ts";

/**
 * What HTTP/1.1 clients get from the breaker, the guards, host matching and the client body timeout,
 * HTTP/2 clients get too (h2c with prior knowledge here: the same request path as over TLS).
 */
describe("HTTP/2: breakers, guards, host routes and body timeouts", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let failing: Fixture;
  let proxy: Strangler;
  const clock = new ManualClock();
  const DOWN = "http://127.0.0.1:9"; // the discard port: nothing listens there

  beforeAll(async () => {
    legacy = await startFixture((req, res) => {
      req.resume();
      req.on("end", () => res.end(JSON.stringify({ side: "legacy" })));
    });
    failing = await startFixture((_req, res) => {
      res.statusCode = 500;
      res.end("{}");
    });
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: legacy.url }, failing: { url: failing.url }, down: { url: DOWN, circuitBreaker: { failures: 3, cooldownMs: 60_000 } }, shop: { url: legacy.url } },
        routes: [
          { id: "guarded", match: { path: "/guarded" }, target: "failing", rollout: { percent: 100 }, guard: { windowMs: 60_000, minSamples: 10, maxErrorRate: 0.2 } },
          { id: "broken", match: { path: "/broken" }, target: "down", rollout: { percent: 100 } },
          { id: "by-host", match: { path: "/hosted", headers: { host: "shop.example" } }, target: "shop", rollout: { percent: 100 } },
        ],
        server: { http2: { h2c: true, maxHeaderListBytes: 4096 }, clientBodyTimeoutMs: 300 },
        servedByHeader: "x-served-by",
      }),
      { clock, guardTimer: false },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), failing.close()]);
    temp.remove();
  });

  it("a header list past server.http2.maxHeaderListBytes resets its stream (ENHANCE_YOUR_CALM), unanswered; the connection serves on", async () => {
    const session = connectHttp2(proxy.url);
    try {
      // The bound holds once the client has acknowledged the proxy's SETTINGS, which carry it: requests
      // sent after the client read them follow its acknowledgement on the wire.
      await once(session, "remoteSettings");
      expect(session.remoteSettings.maxHeaderListSize).toBe(4096);
      const large = session.request({ ":path": "/large-head", "x-large": "v".repeat(6_000) });
      const status = await new Promise((resolve) => {
        large.on("response", (h) => resolve(h[":status"]));
        large.on("error", () => undefined);
        large.on("close", () => resolve("no answer"));
      });
      expect(status).toBe("no answer");
      expect(large.rstCode).toBe(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      const small = session.request({ ":path": "/small-head", "x-small": "v".repeat(1_000) });
      const [head] = (await once(small, "response")) as [Record<string, unknown>];
      small.resume();
      expect(head[":status"]).toBe(200);
    } finally {
      session.close();
    }
  });

  it("matches a route on host by HTTP/2's :authority", async () => {
    const hosted = await h2Request(proxy.url, undefined, { path: "/hosted", headers: { ":authority": "shop.example" } });
    expect(hosted.headers["x-served-by"]).toBe("shop");
    const elsewhere = await h2Request(proxy.url, undefined, { path: "/hosted", headers: { ":authority": "other.example" } });
    expect(elsewhere.headers["x-served-by"]).toBe("legacy");
  });

  it("a backend that refuses connections gives 502, then the breaker opens: 503 circuit_open", async () => {
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = await h2Request(proxy.url, undefined, { path: "/broken" });
      codes.push(`${answer.status} ${(JSON.parse(answer.body.toString()) as { error: { code: string } }).error.code}`);
    }
    expect(codes.slice(0, 3)).toEqual(["502 upstream_refused", "502 upstream_refused", "502 upstream_refused"]);
    expect(codes.slice(3)).toEqual(["503 circuit_open", "503 circuit_open"]);
  });

  it("a guard rolls back and halts a route whose target fails HTTP/2 clients", async () => {
    for (let i = 0; i < 30; i++) expect((await h2Request(proxy.url, undefined, { path: "/guarded", headers: { "x-user-id": `u${i}` } })).status).toBe(500);
    await proxy.evidence.flush();
    await proxy.migrations.tick();
    expect(proxy.rollouts.state.get("guarded")?.percent).toBe(0);
    expect(proxy.migrations.get("guarded")).toMatchObject({ state: "halted", stateBy: "guard" });
  });

  it("a request body that goes silent on its stream gets 408 client_body_timeout; the connection's other streams go on", async () => {
    const session = connectHttp2(proxy.url);
    try {
      const silent = session.request({ ":path": "/upload", ":method": "POST" });
      silent.write(Buffer.alloc(10)); // ...and nothing more
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        let status = 0;
        let body = "";
        silent.once("response", (h) => (status = Number(h[":status"])));
        silent.setEncoding("utf8");
        silent.on("data", (d: string) => (body += d));
        silent.once("end", () => resolve({ status, body }));
        silent.once("error", reject);
      });
      expect(answer.status).toBe(408);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "client_body_timeout" } });
      const other = session.request({ ":path": "/after" });
      const status = await new Promise<number>((resolve) => other.once("response", (h) => resolve(Number(h[":status"]))));
      other.resume();
      expect(status).toBe(200);
    } finally {
      session.close();
    }
  });
});
