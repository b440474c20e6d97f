import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
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
