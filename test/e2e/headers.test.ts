import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

/** Sends raw bytes to the proxy and returns everything it answers until it closes. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.on("end", () => resolve(answer));
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
    socket.setTimeout(5_000, () => {
      socket.destroy();
      resolve(answer);
    });
    socket.write(request); // the proxy closes: every request here asks it to, or is refused
  });
}

describe("headers and request framing", () => {
  const temp = makeTempDir();
  let echo: Fixture;
  let received: Array<{ url: string; headers: Record<string, unknown> }> = [];
  let proxy: Strangler;
  let quietProxy: Strangler;

  beforeAll(async () => {
    echo = await startFixture((req, res) => {
      received.push({ url: req.url ?? "", headers: req.headers });
      res.writeHead(200, {
        "content-type": "application/json",
        connection: "x-internal",
        "x-internal": "secret",
        "keep-alive": "timeout=5",
        "x-kept": "yes",
        "set-cookie": ["a=1", "b=2"],
      });
      res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    });
    const backends = { legacy: { url: echo.url }, base: { url: `${echo.url}/v2/` } };
    const routes = [{ id: "based", match: { path: "/based/*" }, target: "base", rollout: { percent: 100 } }];
    proxy = await startTestProxy(writeConfig(temp.dir, { backends, routes }));
    quietProxy = await startTestProxy(writeConfig(temp.dir, { backends, routes, servedByHeader: false }, "quiet.config.ts"));
  });
  afterAll(async () => {
    await Promise.all([proxy.close(), quietProxy.close()]);
    await echo.close();
    temp.remove();
  });

  async function echoed(path: string, headers: Record<string, string> = {}, via = proxy) {
    received = [];
    const res = await fetch(`${via.url}${path}`, { headers });
    await res.arrayBuffer();
    const seen = received[0];
    if (!seen) throw new Error("the backend saw no request");
    return { res, seen };
  }

  it("sets X-Forwarded-For/-Proto/-Host itself (no trusted proxies: what the client wrote is replaced) and sends the backend's own Host", async () => {
    const { seen } = await echoed("/x", { "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https", "x-forwarded-host": "evil.example" });
    expect(seen.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(seen.headers["x-forwarded-proto"]).toBe("http");
    expect(seen.headers["x-forwarded-host"]).toBe(new URL(proxy.url).host);
    expect(seen.headers.host).toBe(new URL(echo.url).host);
  });

  it("generates a request id, or passes a valid one through, both ways", async () => {
    const generated = await echoed("/x");
    expect(generated.seen.headers["x-request-id"]).toMatch(/^[0-9a-f]{16}-[0-9a-z]+$/);
    expect(generated.res.headers.get("x-request-id")).toBe(generated.seen.headers["x-request-id"]);
    const given = await echoed("/x", { "x-request-id": "abc-123" });
    expect(given.seen.headers["x-request-id"]).toBe("abc-123");
    expect(given.res.headers.get("x-request-id")).toBe("abc-123");
    const unsafe = await echoed("/x", { "x-request-id": "has spaces and <tags>" });
    expect(unsafe.seen.headers["x-request-id"]).not.toBe("has spaces and <tags>");
  });

  it("passes W3C traceparent through untouched", async () => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const { seen } = await echoed("/x", { traceparent, tracestate: "vendor=1" });
    expect(seen.headers.traceparent).toBe(traceparent);
    expect(seen.headers.tracestate).toBe("vendor=1");
  });

  it("removes hop-by-hop headers both ways, including those the Connection header names", async () => {
    const answer = await rawExchange(
      proxy.port,
      "GET /x HTTP/1.1\r\nHost: edge\r\nConnection: close, x-private\r\nX-Private: 1\r\nKeep-Alive: timeout=9\r\nTE: trailers\r\nProxy-Authorization: Basic Zm9v\r\nX-Public: 2\r\n\r\n",
    );
    const upstream = received.at(-1)?.headers ?? {};
    expect(upstream["x-public"]).toBe("2");
    for (const name of ["x-private", "keep-alive", "te", "proxy-authorization"]) expect(upstream[name], name).toBeUndefined();
    const head = answer.slice(0, answer.indexOf("\r\n\r\n")).toLowerCase();
    expect(head).not.toContain("x-internal");
    expect(head).not.toContain("keep-alive: timeout=5");
    expect(head).toContain("x-kept: yes");
    expect(head).toContain("set-cookie: a=1");
    expect(head).toContain("set-cookie: b=2");
  });

  it("says which backend answered, unless turned off", async () => {
    expect((await echoed("/x")).res.headers.get("x-served-by")).toBe("legacy");
    expect((await echoed("/x", {}, quietProxy)).res.headers.get("x-served-by")).toBeNull();
  });

  it("forwards the normalised path, prefixed by the backend's base path, with the query untouched", async () => {
    expect((await echoed("/a/./b/../c?q=%2F&x")).seen.url).toBe("/a/c?q=%2F&x");
    expect((await echoed("/based/%69tems?page=2")).seen.url).toBe("/v2/based/items?page=2");
  });

  it.each([
    ["an encoded slash", "GET /api/products%2F1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "400", "encoded slash"],
    ["dot-segments above the root", "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "400", "climb above the root"],
    ["an encoded NUL", "GET /api/x%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "400", "NUL"],
    ["conflicting Content-Length and Transfer-Encoding", "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400", "malformed_request"],
    ["two different Content-Lengths", "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "400", "malformed_request"],
    ["an oversized head", `GET /x HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`, "431", "malformed_request"],
    ["no Host header", "GET /x HTTP/1.1\r\n\r\n", "400", ""],
  ])("refuses %s and never forwards it", async (_name, request, status, text) => {
    received = [];
    const answer = await rawExchange(proxy.port, request);
    expect(answer.startsWith(`HTTP/1.1 ${status}`), answer.slice(0, 200)).toBe(true);
    expect(answer).toContain(text);
    expect(received).toHaveLength(0);
  });
});
