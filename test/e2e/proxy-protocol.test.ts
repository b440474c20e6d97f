import { connect as connectTcp } from "node:net";
import { get as httpGet, type IncomingMessage } from "node:http";
import { get as httpsGet } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startHaproxy, type HaproxyFront } from "../helpers/haproxy.ts";
import { capturingLogger } from "../helpers/log-capture.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { rawExchange } from "../helpers/raw-http.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { createThrowawayCa, writePem } from "../helpers/tls.ts";

/**
 * HAProxy (Debian's) in front of the proxy, as a team runs it: the user connects from 127.0.0.2, the
 * balancer from 127.0.0.1, which is the proxy's one trusted peer.
 */
describe("behind HAProxy: PROXY protocol and X-Forwarded-*", () => {
  const temp = makeTempDir();
  const ca = createThrowawayCa();
  let backend: Fixture;
  let seen: Array<Record<string, string | string[] | undefined>> = [];
  let plain: Strangler;
  let secure: Strangler;
  let haproxy: HaproxyFront;
  const log = capturingLogger();
  /** A GET whose connection comes from 127.0.0.2: the user, not the balancer (undici cannot bind a local address). */
  const userGet = (url: string) =>
    new Promise<number>((resolve, reject) => {
      const done = (res: IncomingMessage) => {
        res.resume();
        res.once("end", () => resolve(res.statusCode ?? 0));
      };
      const options = { localAddress: "127.0.0.2", ca: ca.cert, agent: false as const };
      (url.startsWith("https:") ? httpsGet(url, options, done) : httpGet(url, options, done)).once("error", reject);
    });

  beforeAll(async () => {
    backend = await startFixture((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
    const config = { backends: { legacy: { url: backend.url } }, server: { proxyProtocol: true, trustedProxies: ["127.0.0.1"] }, accessLog: { sampleRatio: 1 } };
    plain = await startTestProxy(writeConfig(temp.dir, config, "plain.config.ts"), { logger: log.logger });
    writePem(temp.dir, "tls", ca.issue(["127.0.0.1"]));
    secure = await startTestProxy(writeConfig(temp.dir, { ...config, server: { ...config.server, tls: { cert: "tls.crt", key: "tls.key" } } }, "secure.config.ts"));
    haproxy = await startHaproxy(temp.dir, {
      pp: (port) => `frontend pp\n  mode tcp\n  bind 127.0.0.1:${port}\n  default_backend pp_out\nbackend pp_out\n  mode tcp\n  server s 127.0.0.1:${plain.port} send-proxy-v2`,
      ppv1: (port) => `frontend ppv1\n  mode tcp\n  bind 127.0.0.1:${port}\n  default_backend ppv1_out\nbackend ppv1_out\n  mode tcp\n  server s 127.0.0.1:${plain.port} send-proxy`,
      pptls: (port) => `frontend pptls\n  mode tcp\n  bind 127.0.0.1:${port}\n  default_backend pptls_out\nbackend pptls_out\n  mode tcp\n  server s 127.0.0.1:${secure.port} send-proxy-v2`,
      xff: (port) =>
        `frontend xff\n  mode http\n  bind 127.0.0.1:${port}\n  option forwardfor\n  http-request set-header X-Forwarded-Proto https\n  default_backend xff_out\nbackend xff_out\n  mode http\n  server s 127.0.0.1:${plain.port}`,
    });
  });
  afterAll(async () => {
    await haproxy?.stop();
    await Promise.all([plain?.close(), secure?.close()]);
    await backend.close();
    temp.remove();
  });

  async function through(url: string): Promise<Record<string, string | string[] | undefined>> {
    seen = [];
    expect(await userGet(url)).toBe(200);
    return seen[0] ?? {};
  }

  it("send-proxy-v2: the monolith sees the user's address, not the balancer's; the access log names the user", async () => {
    const upstream = await through(`http://127.0.0.1:${haproxy.ports.pp}/v2`);
    expect(upstream["x-forwarded-for"]).toBe("127.0.0.2");
    expect(upstream["x-forwarded-proto"]).toBe("http");
    expect(log.lines().filter((l) => l.msg === "access" && l.path === "/v2").at(-1)).toMatchObject({ client: "127.0.0.2" });
  });

  it("send-proxy (v1) too", async () => {
    expect((await through(`http://127.0.0.1:${haproxy.ports.ppv1}/v1`))["x-forwarded-for"]).toBe("127.0.0.2");
  });

  it("send-proxy-v2 in front of the TLS port (TLS passed through, as an NLB does): the user's address and https", async () => {
    const upstream = await through(`https://127.0.0.1:${haproxy.ports.pptls}/tls`);
    expect(upstream["x-forwarded-for"]).toBe("127.0.0.2");
    expect(upstream["x-forwarded-proto"]).toBe("https");
  });

  it("HAProxy in HTTP mode with X-Forwarded-For and -Proto: the monolith sees the user and https", async () => {
    const upstream = await through(`http://127.0.0.1:${haproxy.ports.xff}/xff`);
    expect(upstream["x-forwarded-for"]).toBe("127.0.0.2, 127.0.0.1");
    expect(upstream["x-forwarded-proto"]).toBe("https");
  });

  it("a PROXY header from an untrusted peer is never read: the request is refused as malformed", async () => {
    const fromUser = await new Promise<string>((resolve) => {
      const socket = connectTcp({ port: plain.port, host: "127.0.0.1", localAddress: "127.0.0.2" }, () => socket.write("PROXY TCP4 6.6.6.6 10.0.0.1 1234 80\r\nGET /forged HTTP/1.1\r\nHost: x\r\n\r\n"));
      let text = "";
      socket.on("data", (d: Buffer) => (text += d.toString()));
      socket.on("close", () => resolve(text));
      socket.on("error", () => resolve(text));
    });
    expect(fromUser).toMatch(/^HTTP\/1\.1 400 /);
    expect(seen.some((h) => String(h["x-forwarded-for"]).includes("6.6.6.6"))).toBe(false);
  });

  it("a broken PROXY header from a trusted peer closes the connection and is counted; a trusted peer may also connect without one", async () => {
    const { text } = await rawExchange(plain.url, "PROXY TCP4 not-an-address 10.0.0.1 1 2\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 5_000);
    expect(text).toBe("");
    const metrics = await (await fetch(`${plain.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/strangler_edge_refused_connections_total\{listener="data",reason="proxy_protocol_invalid"\} [1-9]/);
    seen = [];
    expect((await fetch(`${plain.url}/direct`)).status).toBe(200);
    expect(seen[0]?.["x-forwarded-for"]).toBe("127.0.0.1");
  });
});
