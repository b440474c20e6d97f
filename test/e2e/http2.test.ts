import { createHash } from "node:crypto";
import { connect as connectHttp2, constants, type ClientHttp2Session } from "node:http2";
import { connect as connectTcp } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { createThrowawayCa, h2Request, writePem } from "../helpers/tls.ts";
import { until } from "../helpers/wait.ts";

const SECRET = "force-secret-force-secret";

/** A 9-byte HTTP/2 frame header and its payload (RFC 9113 §4.1). */
function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK literal header field without indexing, with a new name (RFC 7541 §6.2.2), for lengths under 127. */
function literal(name: string, value: string): Buffer {
  if (name.length > 126 || value.length > 126) throw new Error("short names and values only");
  return Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

describe("HTTP/2 downstream: everything HTTP/1.1 does, and the floods it must survive", () => {
  const temp = makeTempDir();
  const ca = createThrowawayCa();
  let legacy: Fixture;
  let target: Fixture;
  let seenByLegacy = 0;
  let written = 0;
  let proxy: Strangler; // TLS: h2 by ALPN
  let plain: Strangler; // h2c with prior knowledge
  let wss: WebSocketServer;

  beforeAll(async () => {
    legacy = await startFixture((req, res) => {
      seenByLegacy++;
      if (req.url === "/huge") {
        // 64 MiB, as fast as the proxy takes it: what it has taken is counted.
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        let left = 1024;
        res.writeHead(200, { "content-type": "application/octet-stream" });
        const pump = () => {
          while (left-- > 0) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
          res.end();
        };
        res.once("close", () => (left = 0));
        return pump();
      }
      const hash = createHash("sha256");
      let bytes = 0;
      req.on("data", (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
      });
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ side: "legacy", url: req.url, bytes, sha: hash.digest("hex"), proto: req.headers["x-forwarded-proto"] }));
      });
    });
    target = await startFixture((req, res) => {
      if (req.url?.startsWith("/failing")) {
        res.writeHead(503);
        return void res.end();
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ side: "target", url: req.url }));
    });
    wss = new WebSocketServer({ server: legacy.server });
    wss.on("connection", (socket) => socket.on("message", (m) => socket.send(`echo:${String(m)}`)));
    const routes = [
      { id: "shadowed", match: { path: "/shadowed" }, target: "target", rollout: { percent: 0 }, shadow: { percent: 100 } },
      { id: "falls-back", match: { path: "/failing" }, target: "target", rollout: { percent: 100 }, fallback: {} },
      { id: "forced", match: { path: "/forced" }, target: "target", rollout: { percent: 0 } },
      { id: "capped", match: { path: "/capped" }, target: "target", rollout: { percent: 0 }, maxRequestBodyBytes: 100_000 },
    ];
    const backends = { legacy: { url: legacy.url }, target: { url: target.url } };
    writePem(temp.dir, "tls", ca.issue(["127.0.0.1"]));
    proxy = await startTestProxy(writeConfig(temp.dir, { backends, routes, forceRouting: { secret: SECRET }, server: { tls: { cert: "tls.crt", key: "tls.key" }, http2: { maxConcurrentStreams: 50 } } }, "tls.config.ts"));
    plain = await startTestProxy(writeConfig(temp.dir, { backends, routes, server: { http2: { h2c: true } } }, "h2c.config.ts"));
  });
  afterAll(async () => {
    await Promise.all([proxy.close(), plain.close()]);
    wss.close();
    await Promise.all([legacy.close(), target.close()]);
    temp.remove();
  });

  const json = (body: Buffer) => JSON.parse(body.toString()) as Record<string, unknown>;

  it("h2c with prior knowledge and HTTP/1.1 share the plain port", async () => {
    const h2c = await h2Request(plain.url, undefined, { path: "/anything" });
    expect(h2c.status).toBe(200);
    expect(json(h2c.body)).toMatchObject({ side: "legacy", proto: "http" });
    const h1 = await fetch(`${plain.url}/anything`);
    expect(await h1.json()).toMatchObject({ side: "legacy" });
    const metrics = await (await fetch(`${plain.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/strangler_client_connections_total\{listener="data",protocol="h2c"\} [1-9]/);
  });

  it("forced routing, fallback and the body limit work over HTTP/2 as over HTTP/1.1", async () => {
    const forced = await h2Request(proxy.url, ca, { path: "/forced", headers: { "x-strangler-force": "target", "x-strangler-force-secret": SECRET } });
    expect(json(forced.body)).toMatchObject({ side: "target" });
    const fallback = await h2Request(proxy.url, ca, { path: "/failing" });
    expect(fallback.status).toBe(200);
    expect(json(fallback.body)).toMatchObject({ side: "legacy" });
    const tooLarge = await h2Request(proxy.url, ca, { path: "/capped", method: "POST", body: Buffer.alloc(100_001), headers: { "content-length": "100001" } });
    expect(tooLarge.status).toBe(413);
    expect(json(tooLarge.body)).toMatchObject({ error: { code: "body_too_large" } });
    const streamedTooLarge = await h2Request(proxy.url, ca, { path: "/capped", method: "POST", body: Buffer.alloc(300_000) }).catch((error: Error) => ({ status: -1, error }));
    expect([413, -1]).toContain(streamedTooLarge.status); // 413, or the stream reset once the bound passed
  });

  it("a shadowed request over HTTP/2 is compared like any other", async () => {
    for (let i = 0; i < 3; i++) expect((await h2Request(proxy.url, ca, { path: "/shadowed", headers: { "x-user-id": `u${i}` } })).status).toBe(200);
    const text = await until(
      async () => (await fetch(`${proxy.adminUrl}/metrics`)).text(),
      (t) => /strangler_shadow_comparisons_total\{route="shadowed",outcome="diverge"\} 3/.test(t),
    );
    expect(text).toMatch(/strangler_shadow_comparisons_total\{route="shadowed",outcome="diverge"\} 3/);
  });

  it("streams a 16 MB upload through HTTP/2 byte for byte", async () => {
    const body = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4096) body[i] = i % 251;
    const answer = await h2Request(proxy.url, ca, { path: "/upload", method: "POST", body });
    expect(json(answer.body)).toMatchObject({ bytes: body.length, sha: createHash("sha256").update(body).digest("hex") });
  });

  it("a stream that never reads its window holds the backend back (bounded memory), and other clients are served meanwhile", async () => {
    written = 0;
    const session = connectHttp2(proxy.url, { ca: ca.cert });
    const stream = session.request({ ":path": "/huge" });
    stream.pause(); // never read: the stream's window fills, then the proxy must stop reading the backend
    await new Promise((r) => stream.once("response", r));
    await new Promise((r) => setTimeout(r, 1_000));
    const takenWhileStalled = written;
    expect(takenWhileStalled).toBeLessThan(16 * 1024 * 1024); // of 64 MiB: the proxy buffers a bounded amount
    const other = await h2Request(proxy.url, ca, { path: "/other" });
    expect(other.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(written - takenWhileStalled).toBeLessThan(1024 * 1024); // still held
    stream.close(constants.NGHTTP2_CANCEL);
    session.close();
  });

  it("announces server.http2.maxConcurrentStreams in its SETTINGS (nghttp2 refuses streams past it)", async () => {
    const session = connectHttp2(proxy.url, { ca: ca.cert, peerMaxConcurrentStreams: 1_000 });
    try {
      await new Promise((r) => session.once("remoteSettings", r));
      expect(session.remoteSettings.maxConcurrentStreams).toBe(50);
    } finally {
      session.close();
    }
  });

  it("survives a rapid-reset flood (CVE-2023-44487): streams opened and cancelled at once do not pile up on the monolith", async () => {
    const before = seenByLegacy;
    const session: ClientHttp2Session = connectHttp2(plain.url);
    session.on("error", () => undefined);
    let opened = 0;
    await new Promise<void>((resolve) => {
      session.once("close", () => resolve());
      session.once("goaway", () => resolve());
      const burst = () => {
        for (let i = 0; i < 200 && !session.closed && !session.destroyed; i++) {
          try {
            const stream = session.request({ ":path": "/flood" });
            stream.on("error", () => undefined);
            stream.close(constants.NGHTTP2_CANCEL);
            opened++;
          } catch {
            return resolve();
          }
        }
        if (opened < 20_000 && !session.closed && !session.destroyed) setImmediate(burst);
        else resolve();
      };
      burst();
    });
    session.destroy();
    await new Promise((r) => setTimeout(r, 500));
    // The monolith saw a small share of what was opened, and the proxy still answers.
    expect(seenByLegacy - before).toBeLessThan(Math.max(200, opened / 4));
    const after = await h2Request(plain.url, undefined, { path: "/after-flood" });
    expect(after.status).toBe(200);
  });

  it("survives a CONTINUATION flood: a header block that never ends is cut at the header list bound", async () => {
    const socket = connectTcp(plain.port, "127.0.0.1");
    socket.on("error", () => undefined);
    await new Promise((r) => socket.once("connect", r));
    let closed = false;
    socket.once("close", () => (closed = true));
    socket.resume();
    socket.write(Buffer.concat([PREFACE, frame(0x4, 0, 0, Buffer.alloc(0))]));
    const head = Buffer.concat([literal(":method", "GET"), literal(":path", "/"), literal(":scheme", "http"), literal(":authority", "x")]);
    socket.write(frame(0x1, 0x0, 1, head)); // HEADERS without END_HEADERS
    let sent = 0;
    const junk = Buffer.concat(Array.from({ length: 60 }, (_, i) => literal(`x-junk-${i}`, "v".repeat(120))));
    const closedOrDrained = () => new Promise((r) => (closed ? r(undefined) : (socket.once("drain", r), socket.once("close", r))));
    while (sent < 8 * 1024 * 1024 && !closed) {
      const flowing = socket.write(frame(0x9, 0x0, 1, junk));
      sent += junk.length;
      await (flowing ? new Promise((r) => setImmediate(r)) : closedOrDrained());
    }
    await until(async () => closed, (c) => c, 5_000);
    expect(closed).toBe(true);
    expect(sent).toBeLessThan(1024 * 1024); // cut after ~100 KB: the header list bound, then GOAWAY
    expect((await h2Request(plain.url, undefined, { path: "/after" })).status).toBe(200);
  });

  it("WebSocket keeps working over TLS for a page served over HTTP/2 (the browser opens an HTTP/1.1 connection for it)", async () => {
    const socket = new WebSocket(`${proxy.url.replace("https", "wss")}/live`, { ca: ca.cert });
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    socket.send("hi");
    const reply = await new Promise<WebSocket.RawData>((r) => socket.once("message", (data) => r(data)));
    expect(String(reply)).toBe("echo:hi");
    socket.close();
  });
});
