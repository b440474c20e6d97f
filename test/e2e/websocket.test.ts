import { once } from "node:events";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { rawExchange as rawSend } from "../helpers/raw-http.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

/** A backend that echoes WebSocket messages, prefixed with its own name and the path it was reached on. */
async function startEchoBackend(name: string): Promise<{ fixture: Fixture; wss: WebSocketServer }> {
  const fixture = await startFixture((_req, res) => res.end(name));
  const wss = new WebSocketServer({ server: fixture.server });
  wss.on("connection", (socket, req) => {
    socket.on("message", (data) => socket.send(`${name}${req.url}:${data.toString()}`));
  });
  return { fixture, wss };
}

async function roundTrip(url: string, message: string): Promise<string> {
  const ws = new WebSocket(url);
  try {
    await once(ws, "open");
    ws.send(message);
    const [data] = (await once(ws, "message")) as [Buffer];
    return data.toString();
  } finally {
    ws.close();
  }
}

describe("WebSocket upgrades", () => {
  const temp = makeTempDir();
  let legacy: Awaited<ReturnType<typeof startEchoBackend>>;
  let service: Awaited<ReturnType<typeof startEchoBackend>>;
  let proxy: Strangler;

  beforeAll(async () => {
    legacy = await startEchoBackend("legacy");
    service = await startEchoBackend("service");
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: legacy.fixture.url }, service: { url: service.fixture.url }, down: { url: "http://127.0.0.1:1" } },
        routes: [
          { id: "live", match: { path: "/live/*" }, target: "service", rollout: { percent: 100 } },
          { id: "dead", match: { path: "/dead/*" }, target: "down", rollout: { percent: 100 } },
        ],
      }),
    );
  });
  afterAll(async () => {
    await proxy.close();
    for (const b of [legacy, service]) {
      b.wss.close();
      await b.fixture.close();
    }
    temp.remove();
  });

  it("proxies an upgrade to the route's backend and echoes both ways", async () => {
    const wsUrl = proxy.url.replace("http:", "ws:");
    expect(await roundTrip(`${wsUrl}/live/feed?x=1`, "hello")).toBe("service/live/feed?x=1:hello");
    expect(await roundTrip(`${wsUrl}/chat`, "hi")).toBe("legacy/chat:hi");
  });

  it("an upgrade to a backend that is down is refused with 502, and the proxy keeps serving", async () => {
    const ws = new WebSocket(`${proxy.url.replace("http:", "ws:")}/dead/x`);
    ws.on("error", () => undefined); // terminating before the handshake completes is reported as an error
    const [, res] = (await once(ws, "unexpected-response")) as [unknown, { statusCode: number }];
    expect(res.statusCode).toBe(502);
    ws.terminate();
    expect(await roundTrip(`${proxy.url.replace("http:", "ws:")}/live/again`, "ok")).toBe("service/live/again:ok");
  });
});

/** What the proxy sends back on a fresh connection for `raw`; a handshake left open is cut after 2 s. */
const rawExchange = async (url: string, raw: string): Promise<string> => (await rawSend(url, raw, 2_000)).text;

describe("the upgrade path: every Upgrade is either a WebSocket proxied with the normal rules, or plain HTTP/1.1", () => {
  const temp = makeTempDir();
  let backend: Fixture;
  let wss: WebSocketServer;
  let handshakes: Array<Record<string, string | string[] | undefined>>;
  let plain: Array<{ method: string; headers: Record<string, string | string[] | undefined>; body: string }>;
  let proxy: Strangler;
  const SECRET = "force-secret-0123456789";

  beforeAll(async () => {
    handshakes = [];
    plain = [];
    backend = await startFixture((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        plain.push({ method: req.method ?? "", headers: req.headers, body });
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ served: "plain", method: req.method, body }));
      });
    });
    wss = new WebSocketServer({ server: backend.server });
    wss.on("connection", (socket, req) => {
      handshakes.push(req.headers);
      socket.on("message", (data) => socket.send(`echo:${data.toString()}`));
    });
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: backend.url }, svc: { url: backend.url } },
        routes: [{ id: "feed", match: { path: "/feed/*" }, target: "svc", rollout: { percent: 100 } }],
        forceRouting: { secret: SECRET },
      }),
    );
  });
  afterAll(async () => {
    await proxy.close();
    wss.close();
    await backend.close();
    temp.remove();
  });

  it("an h2c upgrade (curl --http2) is served as HTTP/1.1, as nginx does", async () => {
    const { stdout } = await promisify(execFile)("curl", ["-s", "-i", "--http2", `${proxy.url}/api/products`]);
    expect(stdout).toMatch(/^HTTP\/1\.1 200 /);
    expect(stdout).toContain('"served":"plain"');
    const seen = plain.at(-1)?.headers ?? {};
    expect(seen.upgrade).toBeUndefined();
    expect(seen["http2-settings"]).toBeUndefined();
  });

  it("an upgrade on a POST, or to an unknown protocol, is an ordinary request, body and all", async () => {
    const body = "hello=world";
    const answer = await rawExchange(
      proxy.url,
      `POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('"method":"POST","body":"hello=world"');
    const other = await rawExchange(proxy.url, "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, close\r\nUpgrade: foo/1\r\n\r\n");
    expect(other).toMatch(/^HTTP\/1\.1 200 /);
    expect(plain.at(-1)?.headers.upgrade).toBeUndefined();
  });

  it("a WebSocket handshake reaches the backend with exactly what the normal path forwards", async () => {
    // A raw handshake: a WebSocket library writes its own Connection header, and this one names a header to drop.
    const answer = await rawExchange(
      proxy.url,
      [
        "GET /feed/live HTTP/1.1",
        "Host: 127.0.0.1",
        "Upgrade: websocket",
        "Connection: Upgrade, X-Drop-Me",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "X-Strangler-Force: legacy",
        `X-Strangler-Force-Secret: ${SECRET}`,
        "Proxy-Authorization: Basic c2VjcmV0",
        "X-Drop-Me: 1",
        "X-Forwarded-For: 10.0.0.1",
        "X-Request-Id: ws-req-1",
        "",
        "",
      ].join("\r\n"),
    );
    expect(answer).toMatch(/^HTTP\/1\.1 101 /);
    expect(answer).toContain("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    const seen = handshakes.at(-1) ?? {};
    for (const stripped of ["x-strangler-force", "x-strangler-force-secret", "proxy-authorization", "x-drop-me"]) expect(seen[stripped], stripped).toBeUndefined();
    expect(seen["x-forwarded-for"]).toBe("127.0.0.1"); // no trusted proxies: what the client wrote is replaced
    expect(seen["x-forwarded-proto"]).toBe("http");
    expect(seen["x-forwarded-host"]).toBe("127.0.0.1"); // the Host the client sent
    expect(seen["x-request-id"]).toBe("ws-req-1");
    expect(seen.host).toBe(new URL(backend.url).host);
    expect(seen.upgrade).toBe("websocket");
  });

  it("the 101 carries the routing decision: the sticky cookie when the key is missing, x-served-by, x-request-id; upgrades are counted", async () => {
    const upgradesSoFar = async () => Number(/strangler_websocket_upgrades_total\{route="feed",backend="svc",outcome="upgraded"\} (\d+)/.exec(await (await fetch(`${proxy.adminUrl}/metrics`)).text())?.[1] ?? 0);
    const before = await upgradesSoFar();
    const ws = new WebSocket(`${proxy.url.replace("http:", "ws:")}/feed/cookie`);
    const upgraded = once(ws, "upgrade");
    const opened = once(ws, "open");
    const [response] = (await upgraded) as [{ headers: Record<string, string | string[]> }];
    await opened;
    ws.close();
    expect(String(response.headers["set-cookie"])).toMatch(/^strangler_id=[0-9a-f-]{36}; Path=\/; Max-Age=31536000; HttpOnly; SameSite=Lax$/);
    expect(response.headers["x-served-by"]).toBe("svc");
    expect(response.headers["x-request-id"]).toBeTruthy();
    expect(await upgradesSoFar()).toBe(before + 1);
  });

  it("CONNECT is refused with a JSON 405, never left hanging", async () => {
    const answer = await rawExchange(proxy.url, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 405 /);
    expect(answer).toContain('"code":"method_not_allowed"');
  });
});
