import { execFile } from "node:child_process";
import { connect as connectTls, type PeerCertificate } from "node:tls";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { capturingLogger } from "../helpers/log-capture.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { createThrowawayCa, fetchTrusting, h2Request, writePem, type ThrowawayCa } from "../helpers/tls.ts";

const run = promisify(execFile);

/** The certificate a TLS client is shown for `servername` (none: no SNI sent). */
function certificateFor(port: number, ca: ThrowawayCa, servername: string | undefined): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ port, host: "127.0.0.1", ca: ca.cert, servername, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.once("error", reject);
  });
}

describe("HTTPS and HTTP/2 on one port", () => {
  const temp = makeTempDir();
  const ca = createThrowawayCa();
  let backend: Fixture;
  let seen: Array<Record<string, string | string[] | undefined>> = [];
  let proxy: Strangler;
  const log = capturingLogger();

  beforeAll(async () => {
    backend = await startFixture((req, res) => {
      seen.push(req.headers);
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json", connection: "keep-alive", "keep-alive": "timeout=5" });
        res.end(JSON.stringify({ url: req.url, method: req.method, bytes: Buffer.concat(chunks).length }));
      });
    });
    const main = writePem(temp.dir, "main", ca.issue(["localhost", "127.0.0.1"]));
    const other = writePem(temp.dir, "other", ca.issue(["api.example.test", "*.shop.example.test"]));
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: backend.url }, catalog: { url: backend.url } },
        routes: [{ id: "sticky", match: { path: "/sticky" }, target: "catalog", rollout: { percent: 50, key: { header: "x-none" } } }],
        server: { tls: { cert: "main.crt", key: "main.key", certificates: [{ cert: other.cert, key: other.key }] } },
        accessLog: { sampleRatio: 1 },
      }),
      { logger: log.logger },
    );
    expect(main.cert).toContain(temp.dir);
  });
  afterAll(async () => {
    await proxy.close();
    await backend.close();
    temp.remove();
  });

  it("serves HTTPS/1.1 to a client that trusts the CA; the backend is told https and the client's address", async () => {
    expect(proxy.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    seen = [];
    const res = await fetchTrusting(ca, `${proxy.url}/products?x=1`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ url: "/products?x=1" });
    expect(seen[0]).toMatchObject({ "x-forwarded-proto": "https", "x-forwarded-for": "127.0.0.1" });
    expect(log.lines().filter((l) => l.msg === "access").at(-1)).toMatchObject({ protocol: "HTTP/1.1", client: "127.0.0.1" });
  });

  it("serves HTTP/2 by ALPN on the same port: routed, pseudo-headers never sent up, :authority as the forwarded host", async () => {
    seen = [];
    const answer = await h2Request(proxy.url, ca, { path: "/orders/7?y=2", headers: { "x-user-id": "u1", cookie: "a=1" } });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toMatchObject({ url: "/orders/7?y=2", method: "GET" });
    expect(answer.headers["x-served-by"]).toBe("legacy");
    expect(answer.headers["x-request-id"]).toBeTruthy();
    const upstream = seen[0] ?? {};
    expect(Object.keys(upstream).filter((n) => n.startsWith(":"))).toEqual([]);
    expect(upstream).toMatchObject({ "x-forwarded-proto": "https", "x-forwarded-host": new URL(proxy.url).host, "x-user-id": "u1", cookie: "a=1" });
    expect(upstream.host).toBe(new URL(backend.url).host);
    expect(log.lines().filter((l) => l.msg === "access").at(-1)).toMatchObject({ protocol: "HTTP/2", path: "/orders/7" });
  });

  it("sends request bodies up over HTTP/2 and issues a Secure sticky cookie", async () => {
    const post = await h2Request(proxy.url, ca, { path: "/upload", method: "POST", body: Buffer.alloc(300_000, 1), headers: { "content-type": "application/octet-stream" } });
    expect(JSON.parse(post.body.toString())).toMatchObject({ method: "POST", bytes: 300_000 });
    const sticky = await h2Request(proxy.url, ca, { path: "/sticky" });
    expect(String(sticky.headers["set-cookie"])).toMatch(/HttpOnly; SameSite=Lax; Secure$/);
  });

  it("curl --http2 negotiates h2 and verifies the certificate against the CA", async () => {
    const caFile = writePem(temp.dir, "ca", ca).cert;
    const { stdout } = await run("curl", ["-sS", "--http2", "--cacert", caFile, "-o", "/dev/null", "-w", "%{http_version} %{http_code}", `${proxy.url}/x`]);
    expect(stdout).toBe("2 200");
    const http1 = await run("curl", ["-sS", "--http1.1", "--cacert", caFile, "-o", "/dev/null", "-w", "%{http_version} %{http_code}", `${proxy.url}/x`]);
    expect(http1.stdout).toBe("1.1 200");
  });

  it("chooses the certificate by SNI: exact name, wildcard, else the default", async () => {
    const port = proxy.port;
    expect((await certificateFor(port, ca, "api.example.test")).subject.CN).toBe("api.example.test");
    expect((await certificateFor(port, ca, "cart.shop.example.test")).subject.CN).toBe("api.example.test");
    expect((await certificateFor(port, ca, "a.b.shop.example.test")).subject.CN).toBe("localhost"); // a wildcard covers one label
    expect((await certificateFor(port, ca, "unknown.test")).subject.CN).toBe("localhost");
    expect((await certificateFor(port, ca, undefined)).subject.CN).toBe("localhost");
  });

  it("refuses TLS 1.1 and below, and counts the failed handshake", async () => {
    const error = await new Promise<Error>((resolve) => {
      const socket = connectTls({ port: proxy.port, host: "127.0.0.1", ca: ca.cert, maxVersion: "TLSv1.1", minVersion: "TLSv1" }, () => resolve(new Error("connected")));
      socket.once("error", resolve);
    });
    expect(error.message).not.toBe("connected");
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(Number(/strangler_edge_refused_connections_total\{listener="data",reason="tls_handshake_failed"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
  });

  it("reports each certificate's time to expiry and the connections by protocol", async () => {
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    const expiry = Number(/strangler_tls_certificate_expiry_seconds\{listener="data",certificate="localhost"\} (\d+)/.exec(metrics)?.[1]);
    expect(expiry).toBeGreaterThan(29 * 86_400);
    expect(expiry).toBeLessThanOrEqual(30 * 86_400);
    expect(metrics).toMatch(/strangler_tls_certificate_expiry_seconds\{listener="data",certificate="api.example.test"\} \d+/);
    expect(metrics).toMatch(/strangler_client_connections_total\{listener="data",protocol="h2"\} [1-9]/);
    expect(metrics).toMatch(/strangler_client_connections_total\{listener="data",protocol="http\/1.1"\} [1-9]/);
    expect(metrics).toMatch(/strangler_client_connections_open\{listener="admin"\} [1-9]/); // this scrape's own
  });
});
