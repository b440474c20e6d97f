import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketOf, inRollout } from "../../src/decision/bucketing.ts";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { capturingLogger } from "../helpers/log-capture.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

/**
 * A balancer in front of the proxy: the test's own requests come from 127.0.0.1, which one proxy trusts
 * (with 10.0.0.0/8 for the hops behind it) and the other does not.
 */
describe("the client's true address behind a trusted balancer", () => {
  const temp = makeTempDir();
  let echo: Fixture;
  let seen: Array<Record<string, string | string[] | undefined>> = [];
  let trusting: Strangler;
  let untrusting: Strangler;
  const log = capturingLogger();

  beforeAll(async () => {
    echo = await startFixture((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
    const config = (trustedProxies: string[]) => ({
      backends: { legacy: { url: echo.url }, catalog: { url: echo.url } },
      routes: [
        { id: "by-ip", match: { path: "/by-ip" }, target: "catalog", rollout: { percent: 50, key: "ip" as const } },
        { id: "by-cookie", match: { path: "/by-cookie" }, target: "catalog", rollout: { percent: 50, key: { header: "x-none" } } },
      ],
      server: { trustedProxies },
      accessLog: { sampleRatio: 1 },
    });
    trusting = await startTestProxy(writeConfig(temp.dir, config(["127.0.0.1", "10.0.0.0/8", "fd00::/8"]), "trusting.config.ts"), { logger: log.logger });
    untrusting = await startTestProxy(writeConfig(temp.dir, config([]), "untrusting.config.ts"));
  });
  afterAll(async () => {
    await Promise.all([trusting.close(), untrusting.close()]);
    await echo.close();
    temp.remove();
  });

  async function upstreamOf(proxy: Strangler, path: string, headers: Record<string, string>) {
    seen = [];
    const res = await fetch(`${proxy.url}${path}`, { headers });
    await res.arrayBuffer();
    const upstream = seen[0];
    if (!upstream) throw new Error("the backend saw no request");
    return { res, upstream };
  }

  it("from a trusted peer, the rightmost untrusted X-Forwarded-For address is the client; the forged part left of it is not sent on", async () => {
    const { upstream } = await upstreamOf(trusting, "/x", { "x-forwarded-for": "6.6.6.6, 198.51.100.7, 10.1.2.3", "x-forwarded-proto": "https", "x-forwarded-host": "shop.example" });
    expect(upstream["x-forwarded-for"]).toBe("198.51.100.7, 10.1.2.3, 127.0.0.1");
    expect(upstream["x-forwarded-proto"]).toBe("https");
    expect(upstream["x-forwarded-host"]).toBe("shop.example");
    const line = log.lines().filter((l) => l.msg === "access").at(-1);
    expect(line).toMatchObject({ client: "198.51.100.7", protocol: "HTTP/1.1", path: "/x" });
  });

  it("reads IPv6 hops, bracketed and with ports, and stops at a hop that is not an address", async () => {
    expect((await upstreamOf(trusting, "/x", { "x-forwarded-for": "[2001:db8::1]:4711, fd00::2" })).upstream["x-forwarded-for"]).toBe("2001:db8::1, fd00::2, 127.0.0.1");
    expect((await upstreamOf(trusting, "/x", { "x-forwarded-for": "203.0.113.9:5000" })).upstream["x-forwarded-for"]).toBe("203.0.113.9, 127.0.0.1");
    // "unknown" cannot be the client: the last address read (the trusted 10.0.0.5) is.
    expect((await upstreamOf(trusting, "/x", { "x-forwarded-for": "198.51.100.1, unknown, 10.0.0.5" })).upstream["x-forwarded-for"]).toBe("10.0.0.5, 127.0.0.1");
    // Every hop trusted: the leftmost is the client.
    expect((await upstreamOf(trusting, "/x", { "x-forwarded-for": "10.0.0.1, 10.0.0.2" })).upstream["x-forwarded-for"]).toBe("10.0.0.1, 10.0.0.2, 127.0.0.1");
  });

  it("from a trusted peer without X-Forwarded headers, the peer is the client and the scheme the connection's", async () => {
    const { upstream } = await upstreamOf(trusting, "/x", { "x-forwarded-proto": "gopher" });
    expect(upstream["x-forwarded-for"]).toBe("127.0.0.1");
    expect(upstream["x-forwarded-proto"]).toBe("http");
  });

  it("from an untrusted peer, what it wrote in X-Forwarded-* is replaced", async () => {
    const { upstream } = await upstreamOf(untrusting, "/x", { "x-forwarded-for": "198.51.100.7", "x-forwarded-proto": "https", "x-forwarded-host": "evil.example" });
    expect(upstream["x-forwarded-for"]).toBe("127.0.0.1");
    expect(upstream["x-forwarded-proto"]).toBe("http");
    expect(upstream["x-forwarded-host"]).toBe(new URL(untrusting.url).host);
  });

  it("the sticky key `ip` is the resolved client: users behind one balancer are split, a forged header moves nobody", async () => {
    const salt = trusting.rollouts.state.get("by-ip")?.salt ?? "";
    const untrustedSalt = untrusting.rollouts.state.get("by-ip")?.salt ?? "";
    const addresses = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 1}`);
    const sides = new Set<string>();
    for (const address of addresses) {
      const expected = inRollout(bucketOf("by-ip", address, salt), 50) ? "catalog" : "legacy";
      const { res } = await upstreamOf(trusting, "/by-ip", { "x-forwarded-for": address });
      expect(res.headers.get("x-served-by"), address).toBe(expected);
      sides.add(expected);
    }
    expect(sides.size).toBe(2); // 40 addresses at 50% land on both sides
    const peerSide = inRollout(bucketOf("by-ip", "127.0.0.1", untrustedSalt), 50) ? "catalog" : "legacy";
    for (const address of addresses.slice(0, 10)) {
      expect((await upstreamOf(untrusting, "/by-ip", { "x-forwarded-for": address })).res.headers.get("x-served-by")).toBe(peerSide);
    }
  });

  it("the sticky cookie is Secure when the client's scheme is https (by a trusted X-Forwarded-Proto), not otherwise", async () => {
    const secure = (await upstreamOf(trusting, "/by-cookie", { "x-forwarded-proto": "https" })).res.headers.get("set-cookie") ?? "";
    expect(secure).toMatch(/HttpOnly; SameSite=Lax; Secure$/);
    const plain = (await upstreamOf(trusting, "/by-cookie", {})).res.headers.get("set-cookie") ?? "";
    expect(plain).toMatch(/SameSite=Lax$/);
    const forged = (await upstreamOf(untrusting, "/by-cookie", { "x-forwarded-proto": "https" })).res.headers.get("set-cookie") ?? "";
    expect(forged).not.toContain("Secure");
  });

  it("a reload changes who is trusted, at once", async () => {
    const path = writeConfig(temp.dir, { backends: { legacy: { url: echo.url } }, server: { trustedProxies: ["127.0.0.1"] } }, "reloaded.config.ts");
    const proxy = await startTestProxy(path);
    try {
      expect((await upstreamOf(proxy, "/x", { "x-forwarded-for": "198.51.100.7" })).upstream["x-forwarded-for"]).toBe("198.51.100.7, 127.0.0.1");
      writeConfig(temp.dir, { backends: { legacy: { url: echo.url } }, server: { trustedProxies: [] } }, "reloaded.config.ts");
      expect(await proxy.reload()).toEqual({ applied: true });
      expect((await upstreamOf(proxy, "/x", { "x-forwarded-for": "198.51.100.7" })).upstream["x-forwarded-for"]).toBe("127.0.0.1");
    } finally {
      await proxy.close();
    }
  });
});
