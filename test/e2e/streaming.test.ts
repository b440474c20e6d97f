import { Readable } from "node:stream";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnProxy, type ChildProxy } from "../helpers/child-proxy.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const SIZE = 100 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 7);
const RSS_GROWTH_LIMIT = 64 * 1024 * 1024;

/** 100 MB, produced as it is read: the test's own memory stays flat too. */
function body(): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= SIZE) return void this.push(null);
      sent += CHUNK.length;
      this.push(CHUNK);
    },
  });
}

describe("streaming 100 MB through the proxy process", () => {
  const temp = makeTempDir();
  let backend: Fixture;
  let proxy: ChildProxy;

  beforeAll(async () => {
    backend = await startFixture((req, res) => {
      if (req.method === "POST") {
        let bytes = 0;
        req.on("data", (d: Buffer) => (bytes += d.length));
        req.on("end", () => res.end(JSON.stringify({ bytes })));
        return;
      }
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(SIZE) });
      body().pipe(res);
    });
    proxy = await spawnProxy(writeConfig(temp.dir, { backends: { legacy: { url: backend.url } } }));
  });
  afterAll(async () => {
    await proxy.stop();
    await backend.close();
    temp.remove();
  });

  /**
   * Runs `transfer` twice, sampling the proxy's RSS during the second run; returns the peak growth over
   * the level before it. The first run is the warm-up: V8 frees the ArrayBuffers that socket reads
   * allocate only once about 64 MB of them have piled up (its external-memory GC trigger), so a cold
   * process's first 100 MB grows towards that mark whatever the proxy does. A proxy that buffered bodies
   * would grow by the body's size on every run, the second included.
   */
  async function peakGrowth(transfer: () => Promise<void>): Promise<number> {
    await transfer();
    const baseline = proxy.rssBytes();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, proxy.rssBytes())), 25);
    try {
      await transfer();
    } finally {
      clearInterval(sampler);
    }
    const growth = Math.max(peak, proxy.rssBytes()) - baseline;
    console.log(`proxy RSS growth ${(growth / 1048576).toFixed(1)} MiB`);
    return growth;
  }

  it("uploads 100 MB with bounded proxy memory", async () => {
    let answer: unknown;
    const growth = await peakGrowth(async () => {
      const res = await request(`${proxy.url}/upload`, { method: "POST", body: body(), headers: { "content-type": "application/octet-stream" } });
      answer = await res.body.json();
    });
    expect(answer).toEqual({ bytes: SIZE });
    expect(growth).toBeLessThan(RSS_GROWTH_LIMIT);
  });

  it("downloads 100 MB with bounded proxy memory", async () => {
    let received = 0;
    const growth = await peakGrowth(async () => {
      received = 0;
      const res = await request(`${proxy.url}/download`);
      expect(res.statusCode).toBe(200);
      for await (const chunk of res.body) received += (chunk as Buffer).length;
    });
    expect(received).toBe(SIZE);
    expect(growth).toBeLessThan(RSS_GROWTH_LIMIT);
  });
});
