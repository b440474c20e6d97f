import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { rawExchange } from "../helpers/raw-http.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

/** Uploads `total` bytes in 16 KiB chunks (chunked, no Content-Length); resolves with the answer, or the error that cut it. */
function chunkedUpload(url: string, total: number): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { method: "POST", headers: { "content-type": "application/octet-stream" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", (e) => resolve({ error: e.message }));
    });
    req.on("error", (e) => resolve({ error: e.message }));
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

describe("the request body limit", () => {
  const temp = makeTempDir();
  let backend: Fixture;
  let received: Array<{ url: string; bytes: number; complete: boolean }> = [];
  let proxy: Strangler;

  beforeAll(async () => {
    backend = await startFixture((req, res) => {
      let bytes = 0;
      req.on("data", (c: Buffer) => (bytes += c.length));
      const note = (complete: boolean) => received.push({ url: req.url ?? "", bytes, complete });
      req.on("end", () => {
        note(true);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ bytes }));
      });
      req.on("aborted", () => note(false));
    });
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: backend.url }, uploads: { url: backend.url } },
        server: { maxRequestBodyBytes: 32 * 1024 },
        routes: [
          { id: "uploads", match: { path: "/uploads/*" }, target: "uploads", rollout: { percent: 100 }, maxRequestBodyBytes: 1024 * 1024 },
          { id: "unbounded", match: { path: "/unbounded" }, target: "uploads", rollout: { percent: 100 }, maxRequestBodyBytes: 0 },
        ],
      }),
    );
  });
  afterAll(async () => {
    await proxy.close();
    await backend.close();
    temp.remove();
  });

  async function rejections(): Promise<number> {
    const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    return Number(/strangler_rejected_requests_total\{reason="body_too_large"\} (\d+)/.exec(text)?.[1] ?? "NaN");
  }

  it("a Content-Length past the bound is answered 413 JSON before anything is forwarded, and counted", async () => {
    received = [];
    const before = await rejections();
    const res = await fetch(`${proxy.url}/anything`, { method: "POST", body: Buffer.alloc(32 * 1024 + 1) });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("body_too_large");
    expect(body.error.message).toContain("32768 bytes");
    expect(received).toEqual([]);
    expect(await rejections()).toBe(before + 1);
  });

  it("a body at the bound goes through whole", async () => {
    const res = await fetch(`${proxy.url}/anything`, { method: "POST", body: Buffer.alloc(32 * 1024) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ bytes: 32 * 1024 });
  });

  it("a route's own bound wins, larger or none", async () => {
    const big = await fetch(`${proxy.url}/uploads/a`, { method: "POST", body: Buffer.alloc(512 * 1024) });
    expect(await big.json()).toEqual({ bytes: 512 * 1024 });
    expect((await fetch(`${proxy.url}/uploads/a`, { method: "POST", body: Buffer.alloc(1024 * 1024 + 1) })).status).toBe(413);
    const none = await fetch(`${proxy.url}/unbounded`, { method: "POST", body: Buffer.alloc(3 * 1024 * 1024) });
    expect(await none.json()).toEqual({ bytes: 3 * 1024 * 1024 });
  });

  it("a chunked body that passes the bound while buffered gets 413 and never reaches the backend", async () => {
    received = [];
    const before = await rejections();
    const answer = await chunkedUpload(`${proxy.url}/small`, 48 * 1024);
    expect(answer).toMatchObject({ status: 413 });
    expect(JSON.parse((answer as { body: string }).body).error.code).toBe("body_too_large");
    expect(received).toEqual([]);
    expect(await rejections()).toBe(before + 1);
  });

  it("a chunked body that passes the bound while streaming aborts the upstream exchange and gets 413", async () => {
    received = [];
    const before = await rejections();
    // 1 MiB on this route; 64 KiB is buffered first, the rest streams to the backend until the bound.
    const answer = await chunkedUpload(`${proxy.url}/uploads/big`, 2 * 1024 * 1024);
    expect(answer).toMatchObject({ status: 413 });
    await expect.poll(() => received.length).toBe(1);
    expect(received[0]).toMatchObject({ url: "/uploads/big", complete: false });
    expect(received[0]?.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(await rejections()).toBe(before + 1);
    // The proxy is fine afterwards.
    expect((await fetch(`${proxy.url}/uploads/after`, { method: "POST", body: "ok" })).status).toBe(200);
  });

  it("the 413 is read by a client still sending (the rest is drained, not reset), and the connection closes", async () => {
    const head = `POST /anything HTTP/1.1\r\nHost: edge\r\nContent-Length: ${200 * 1024}\r\n\r\n`;
    const { text } = await rawExchange(proxy.url, Buffer.concat([Buffer.from(head), Buffer.alloc(200 * 1024, 0x62)]));
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text.toLowerCase()).toContain("connection: close");
    expect(text).toContain('"body_too_large"');
  });

  it("refuses a bound that is not a whole number of bytes, naming the field", async () => {
    const path = writeConfig(temp.dir, { backends: { legacy: { url: backend.url } }, server: { maxRequestBodyBytes: -1 } }, "bad.config.ts");
    await expect(startTestProxy(path)).rejects.toThrow(/server\.maxRequestBodyBytes/);
  });
});
