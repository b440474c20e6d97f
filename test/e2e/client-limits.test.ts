import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { openRaw as open, rawExchange as exchange } from "../helpers/raw-http.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

describe("limits on what a client may send or hold", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let proxy: Strangler;

  beforeAll(async () => {
    legacy = await startFixture((_req, res) => res.end("ok"));
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: legacy.url } },
        routes: [],
        server: { maxConnections: 3, headersTimeoutMs: 1_000, keepAliveTimeoutMs: 500 },
      }),
    );
  });
  afterAll(async () => {
    await proxy.close();
    await legacy.close();
    temp.remove();
  });

  it("two Host headers are refused with a JSON 400 (RFC 9112 §3.2), never forwarded", async () => {
    const { text } = await exchange(proxy.url, "GET /x HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n");
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toContain('"code":"malformed_request"');
    expect(text).toContain("more than one Host header");
  });

  it("an HTTP/1.1 request without Host gets the documented JSON 400; HTTP/1.0 without one is served", async () => {
    const missing = await exchange(proxy.url, "GET /x HTTP/1.1\r\n\r\n");
    expect(missing.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(missing.text).toContain("application/json");
    expect(missing.text).toContain("needs a Host header");
    const old = await exchange(proxy.url, "GET /x HTTP/1.0\r\n\r\n");
    expect(old.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(old.text.endsWith("ok")).toBe(true);
  });

  it("a request head that never completes is answered 408 within headersTimeoutMs, and closed", async () => {
    const { text, ms } = await exchange(proxy.url, "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('"code":"client_header_timeout"');
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(5_000); // 1 s, checked every second
  });

  it("an idle keep-alive connection is closed after keepAliveTimeoutMs", async () => {
    const { text, ms } = await exchange(proxy.url, "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(ms).toBeGreaterThanOrEqual(400);
    expect(ms).toBeLessThan(5_000);
  });

  it("a connection beyond maxConnections gets 503 too_many_connections on its first request, and is counted", async () => {
    const held = await Promise.all([open(proxy.url), open(proxy.url), open(proxy.url)]);
    try {
      const { text } = await exchange(proxy.url, "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      expect(text).toMatch(/^HTTP\/1\.1 503 /);
      expect(text).toContain('"code":"too_many_connections"');
      expect(text.toLowerCase()).toContain("connection: close");
      const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/strangler_rejected_requests_total\{reason="too_many_connections"\} 1/);
    } finally {
      for (const s of held) s.destroy();
    }
    // Once they are gone, new connections are served again.
    await new Promise((r) => setTimeout(r, 100));
    expect(await (await fetch(`${proxy.url}/x`)).text()).toBe("ok");
  });
});
