import { once } from "node:events";
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const BODY_TIMEOUT_MS = 1_500;

/** Opens a raw connection that sends a request head promising `length` body bytes, then only `sent` of them. */
async function slowUpload(url: string, path: string, length: number, sent: number): Promise<{ socket: Socket; answer: Promise<{ text: string; ms: number }> }> {
  const { port } = new URL(url);
  const socket = connect(Number(port), "127.0.0.1");
  await once(socket, "connect");
  const started = Date.now();
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`);
  socket.write(Buffer.alloc(sent, 0x61));
  socket.on("error", () => undefined);
  const answer = new Promise<{ text: string; ms: number }>((resolve) => {
    let text = "";
    socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
    socket.on("close", () => resolve({ text, ms: Date.now() - started }));
  });
  return { socket, answer };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function timedGets(url: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    await res.text();
    times.push(performance.now() - started);
  }
  return times;
}

async function metric(adminUrl: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? 0);
}

describe("slow and greedy clients cannot take a backend's connections", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let slowService: Fixture;
  let proxy: Strangler;

  beforeAll(async () => {
    // A monolith that reads every body before answering, as real ones do.
    legacy = await startFixture((req, res) => {
      req.resume();
      req.on("end", () => res.end("ok"));
    });
    slowService = await startFixture((_req, res) => setTimeout(() => res.end("slow"), 1_000));
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: {
          legacy: { url: legacy.url, maxSockets: 128 }, // the default, spelled out: the attack uses 130 connections
          slow: { url: slowService.url, maxSockets: 2, maxPendingRequests: 2 },
          narrow: { url: legacy.url, maxSockets: 8 },
        },
        routes: [
          { id: "slow", match: { path: "/slow/*" }, target: "slow", rollout: { percent: 100 } },
          { id: "narrow", match: { path: "/narrow/*" }, target: "narrow", rollout: { percent: 100 } },
        ],
        server: { clientBodyTimeoutMs: BODY_TIMEOUT_MS },
      }),
    );
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), slowService.close()]);
    temp.remove();
  });

  it("130 clients that promise 100 kB and send 10 bytes hold no monolith connection, and get 408 in time", async () => {
    const attackers = await Promise.all(Array.from({ length: 130 }, () => slowUpload(proxy.url, "/some/legacy/path", 100_000, 10)));
    try {
      // Meanwhile, everyone else is served by the same monolith through the same proxy.
      const times = await timedGets(`${proxy.url}/catalogue`, 40);
      console.log(`during the attack: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms over ${times.length} GETs`);
      expect(percentile(times, 99)).toBeLessThan(1_000);
      expect(legacy.openConnections()).toBeLessThan(20); // the GETs' own connections, none for the attackers
      const answers = await Promise.all(attackers.map((a) => a.answer));
      for (const { text, ms } of answers) {
        expect(text).toMatch(/^HTTP\/1\.1 408 /);
        expect(text).toContain('"code":"client_body_timeout"');
        expect(text.toLowerCase()).toContain("connection: close");
        expect(ms).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 100);
        expect(ms).toBeLessThan(BODY_TIMEOUT_MS + 5_000);
      }
      expect(await metric(proxy.adminUrl, /strangler_rejected_requests_total\{reason="client_body_timeout"\} (\d+)/)).toBe(130);
    } finally {
      for (const a of attackers) a.socket.destroy();
    }
  });

  it("bodies larger than the buffer stream, but may hold only half a backend's connections; the rest get 503 at once", async () => {
    // 70 kB (over the 64 KiB buffer) and then silence: each would hold a connection until its timeout.
    const attackers = await Promise.all(Array.from({ length: 10 }, () => slowUpload(proxy.url, "/narrow/upload", 200_000, 70_000)));
    try {
      const times = await timedGets(`${proxy.url}/narrow/page`, 20);
      expect(percentile(times, 99)).toBeLessThan(1_000);
      const answers = await Promise.all(attackers.map((a) => a.answer));
      const statuses = answers.map((a) => /^HTTP\/1\.1 (\d+)/.exec(a.text)?.[1]);
      // maxSockets 8 → 4 streaming uploads at once; the other six were refused without waiting.
      expect(statuses.filter((s) => s === "503")).toHaveLength(6);
      expect(statuses.filter((s) => s === "408")).toHaveLength(4);
      const refused = answers.filter((a) => a.text.startsWith("HTTP/1.1 503"));
      for (const r of refused) {
        expect(r.text).toContain('"code":"upstream_overloaded"');
        expect(r.ms).toBeLessThan(BODY_TIMEOUT_MS);
      }
      expect(await metric(proxy.adminUrl, /strangler_upstream_overloaded_total\{backend="narrow",reason="streaming_uploads"\} (\d+)/)).toBe(6);
    } finally {
      for (const a of attackers) a.socket.destroy();
    }
  });

  it("requests beyond a backend's connections and pending queue get 503 upstream_overloaded at once, and are counted", async () => {
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await fetch(`${proxy.url}/slow/x`);
        const body = await res.text();
        return { status: res.status, body, ms: Date.now() - started };
      }),
    );
    const served = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 503);
    // 2 connections + 2 waiting: four are served (in about two seconds), six refused at once.
    expect(served).toHaveLength(4);
    expect(refused).toHaveLength(6);
    for (const r of refused) {
      expect(JSON.parse(r.body).error.code).toBe("upstream_overloaded");
      expect(r.ms).toBeLessThan(900);
    }
    expect(await metric(proxy.adminUrl, /strangler_upstream_overloaded_total\{backend="slow",reason="pending_requests"\} (\d+)/)).toBe(6);
    // The bound frees up: the next request is served.
    expect((await fetch(`${proxy.url}/slow/again`)).status).toBe(200);
  });
});

describe("an upstream that answers before reading a large upload", () => {
  const temp = makeTempDir();
  let refusing: Fixture;
  let proxy: Strangler;

  beforeAll(async () => {
    // Answers at once without reading the body: 413 for most, 200 for some, as an upload endpoint may.
    let n = 0;
    refusing = await startFixture((_req, res) => {
      n++;
      const status = n % 4 === 0 ? 200 : 413;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ status }));
    });
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: refusing.url } },
        routes: [],
      }),
    );
  });
  afterAll(async () => {
    await proxy.close();
    await refusing.close();
    temp.remove();
  });

  /** One POST of `body` with node:http, as an ordinary client: its answer's status, or the error it saw. */
  function post(url: string, body: Buffer): Promise<string> {
    return new Promise((resolve) => {
      const req = httpRequest(`${url}/upload`, { method: "POST", headers: { "content-type": "application/octet-stream", "content-length": body.length } });
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => resolve(String(res.statusCode)));
        res.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      });
      req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      req.end(body);
    });
  }

  async function run(url: string): Promise<string[]> {
    const body = Buffer.alloc(3 * 1024 * 1024, 0x62);
    const results: string[] = [];
    const queue = Array.from({ length: 200 }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (queue.shift() !== undefined) results.push(await post(url, body));
      }),
    );
    return results;
  }

  it("200 POSTs of 3 MB, 20 at a time: every client reads the answer, none sees a reset", async () => {
    const direct = await run(refusing.url);
    const proxied = await run(proxy.url);
    const tally = (r: string[]) => Object.fromEntries([...new Set(r)].map((k) => [k, r.filter((x) => x === k).length]));
    console.log(`direct: ${JSON.stringify(tally(direct))}; through the proxy: ${JSON.stringify(tally(proxied))}`);
    expect(direct.every((r) => r === "413" || r === "200")).toBe(true);
    expect(proxied.every((r) => r === "413" || r === "200")).toBe(true);
    expect(proxied).toHaveLength(200);
  });
});
