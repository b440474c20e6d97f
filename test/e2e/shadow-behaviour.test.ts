import { randomUUID } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { adminJson } from "../helpers/admin.ts";
import { until } from "../helpers/wait.ts";
import { spawnProxy } from "../helpers/child-proxy.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const SECRET_TOKEN = "Bearer very-secret-token-42";
const SECRET_COOKIE = "session=cookie-secret-77";

/** Reads the whole request body, then answers. */
function readAll(req: import("node:http").IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => resolve(body));
  });
}

interface Seen {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, unknown>;
  readonly body: string;
}

describe("shadow comparison behaviour", () => {
  const temp = makeTempDir();
  const dataDir = join(temp.dir, "data");
  const seenByLegacy: Seen[] = [];
  const seenByTarget: Seen[] = [];
  // 10 MB of JSON, built once: the backends only send it.
  const bigItems = Array.from({ length: 40_000 }, (_, i) => ({ id: i, name: `item ${i}`, description: "x".repeat(200) }));
  const bigLegacy = Buffer.from(JSON.stringify({ items: bigItems, version: 1 }));
  const bigTarget = Buffer.from(JSON.stringify({ items: bigItems, version: 2 }));
  let legacy: Fixture;
  let target: Fixture;
  let proxy: Strangler;

  function handler(side: "legacy" | "target", seen: Seen[]) {
    return async (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
      const body = await readAll(req);
      seen.push({ url: req.url ?? "", method: req.method ?? "", headers: req.headers, body });
      const url = req.url ?? "";
      if (url.startsWith("/noisy")) {
        res.setHeader("content-type", "application/json");
        return res.end(JSON.stringify({ id: 1, value: "same", nonce: randomUUID(), at: new Date(Date.now() + Math.random() * 10_000).toISOString() }));
      }
      if (url.startsWith("/slow") && side === "target") return void setTimeout(() => res.end("late"), url.includes("overload") ? 1_500 : 5_000);
      if (url.startsWith("/slow")) return void setTimeout(() => res.end("fast"), 10);
      if (url.startsWith("/big")) {
        res.setHeader("content-type", "application/json");
        return res.end(side === "legacy" ? bigLegacy : bigTarget);
      }
      if (url.startsWith("/shuffled")) {
        // The monolith lists in no stable order; the service also drops order 3.
        const items = [1, 2, 3, 4, 5].filter((id) => side === "legacy" || id !== 3).map((id) => ({ id, total: id * 10 }));
        items.sort(() => Math.random() - 0.5);
        res.setHeader("content-type", "application/json");
        return res.end(JSON.stringify({ items }));
      }
      if (url.startsWith("/storm")) {
        res.setHeader("content-type", "application/json");
        return res.end(JSON.stringify({ n: url, price: side === "legacy" ? 1 : "1" }));
      }
      if (url.startsWith("/same-bytes")) {
        // The same body byte for byte from both; on /same-bytes/retyped the service names another media type.
        res.setHeader("content-type", side === "target" && url.includes("retyped") ? "text/plain" : "application/json");
        return res.end('{"id":7,"name":"same"}');
      }
      if (url.startsWith("/private")) {
        res.setHeader("content-type", "application/json");
        return res.end(JSON.stringify({ email: "someone@example.com", plan: side === "legacy" ? "gold" : "silver" }));
      }
      res.end(side === "legacy" ? `legacy ${body}` : `target ${body}`);
    };
  }

  beforeAll(async () => {
    legacy = await startFixture((req, res) => void handler("legacy", seenByLegacy)(req, res));
    target = await startFixture((req, res) => void handler("target", seenByTarget)(req, res));
    const route = (id: string, path: string, shadow: Record<string, unknown>, targetName = "target") => ({
      id,
      match: { path },
      target: targetName,
      rollout: { percent: 0 },
      shadow: { percent: 100, ...shadow },
    });
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: legacy.url }, target: { url: target.url }, down: { url: "http://127.0.0.1:1" } },
        routes: [
          route("noisy", "/noisy", {}),
          route("slow", "/slow", { timeoutMs: 6_000 }),
          route("down", "/down", {}, "down"),
          route("reads-only", "/write", {}),
          route("writes", "/write-shadowed", { methods: ["POST"], shadowWrites: true, maxBodyBytes: 1_000 }),
          route("big", "/big", { maxResponseBytes: 16 * 1024 * 1024 }),
          route("private", "/private", { redact: { bodyFields: ["$.email"] } }),
          route("storm", "/storm", { noise: { learn: false } }),
          route("shuffled", "/shuffled", {}),
          route("same-bytes", "/same-bytes", { noise: { learn: false } }),
          route("retyped", "/same-bytes/retyped", { noise: { learn: false } }),
        ],
        shadowing: { examplesPerSignaturePerMinute: 1 },
      }),
      { dataDir },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), target.close()]);
    temp.remove();
  });

  const metrics = async () => (await fetch(`${proxy.adminUrl}/metrics`)).text();
  const counter = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
  const report = (route: string) => adminJson<{ counts: { match: number; diverge: number; error: number; skipped: number }; topDivergences: Array<{ path: string; kind: string }>; noise: { fields: Array<{ path: string; isNoise: boolean }> } }>(proxy.adminUrl, `/api/routes/${route}/shadow`);

  it("a uuid and a timestamp that change on every call are learned as noise, not divergence", async () => {
    for (let i = 0; i < 8; i++) await (await fetch(`${proxy.url}/noisy`)).text();
    const r = await until(() => report("noisy"), (x) => x.counts.match + x.counts.diverge >= 8);
    expect(r.counts).toMatchObject({ match: 8, diverge: 0 });
    expect(r.topDivergences).toEqual([]);
    const noisy = r.noise.fields.filter((f) => f.isNoise).map((f) => f.path).sort();
    expect(noisy).toEqual(["$.at", "$.nonce"]);
  });

  it("a noise path set through the admin API must be a JSON path, as in the config (400 naming the field otherwise)", async () => {
    const post = (path: unknown) =>
      fetch(`${proxy.adminUrl}/api/routes/noisy/noise`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ path, status: "confirmed", reason: "known id" }) });
    for (const bad of ["requestId", "$..x", "$.items[", "<script>"]) {
      const res = await post(bad);
      expect(res.status, bad).toBe(400);
      expect(((await res.json()) as { error: { code: string; field: string } }).error).toMatchObject({ code: "invalid_input", field: "path" });
    }
    const ok = await post("$.meta.requestId");
    expect(ok.status).toBe(200);
    const audit = await adminJson<{ entries: Array<{ action: string; newValue: { path: string } }> }>(proxy.adminUrl, "/api/audit?route=noisy&limit=1");
    expect(audit.entries[0]).toMatchObject({ action: "noise_confirmed", newValue: { path: "$.meta.requestId" } });
  });

  it("a monolith whose list order varies teaches the order as noise, and a service that drops an element is still caught", async () => {
    for (let i = 0; i < 25; i++) await (await fetch(`${proxy.url}/shuffled?i=${i}`)).text();
    const r = await until(
      () => adminJson<{ counts: { diverge: number; match: number }; topDivergences: Array<{ path: string; kind: string }>; arrays: Array<{ path: string; key: string; automatic: boolean }>; noise: { fields: Array<{ path: string; isNoise: boolean }> } }>(proxy.adminUrl, "/api/routes/shuffled/shadow"),
      (x) => x.counts.diverge + x.counts.match >= 25,
    );
    expect(r.topDivergences.map((d) => `${d.kind} ${d.path}`)).toEqual(["removed $.items[*]"]);
    expect(r.counts.diverge).toBe(25);
    expect(r.noise.fields.filter((f) => f.isNoise).map((f) => f.path)).toEqual(["$.items"]); // the order, not its elements
    expect(r.arrays).toEqual([expect.objectContaining({ path: "$.items", key: "id", automatic: true })]);
  });

  it("a route that diverges on every request keeps exact counts but stores examples sampled per signature and minute", async () => {
    for (let i = 0; i < 40; i++) await (await fetch(`${proxy.url}/storm?i=${i}`)).text();
    const r = await until(() => report("storm"), (x) => x.counts.diverge >= 40);
    expect(r.counts).toMatchObject({ match: 0, diverge: 40 });
    await proxy.shadows.flush();
    const { signatures } = await adminJson<{ signatures: Array<{ path: string; kind: string; count: number; examples: unknown[] }> }>(proxy.adminUrl, "/api/routes/storm/divergences?examples=20");
    const price = signatures.find((s) => s.path === "$.price");
    expect(price).toMatchObject({ kind: "type_changed", count: 40 });
    // examplesPerSignaturePerMinute is 1: one example, two if the run straddled a minute.
    expect(price?.examples.length).toBeGreaterThanOrEqual(1);
    expect(price?.examples.length).toBeLessThanOrEqual(2);
  });

  it("a shadow that takes 5 s leaves the client's latency where it was, on a kept-alive connection", async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const res = await fetch(`${proxy.url}/slow`);
      expect(await res.text()).toBe("fast");
      latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);
    expect(latencies[2]).toBeLessThan(100); // the median: a 10 ms backend plus the proxy
    expect(latencies[4]).toBeLessThan(1_000); // and never anywhere near the shadow's 5 s
  });

  it("answers with the same bytes are decided by their heads: a match, or the one header that differs", async () => {
    for (let i = 0; i < 4; i++) {
      expect(await (await fetch(`${proxy.url}/same-bytes`)).text()).toBe('{"id":7,"name":"same"}');
      expect(await (await fetch(`${proxy.url}/same-bytes/retyped`)).text()).toBe('{"id":7,"name":"same"}');
    }
    const same = await until(() => report("same-bytes"), (x) => x.counts.match + x.counts.diverge >= 4);
    expect(same.counts).toMatchObject({ match: 4, diverge: 0, error: 0 });
    const retyped = await until(() => report("retyped"), (x) => x.counts.match + x.counts.diverge >= 4);
    expect(retyped.counts).toMatchObject({ match: 0, diverge: 4, error: 0 });
    expect(retyped.topDivergences).toMatchObject([{ path: "header:content-type", kind: "changed" }]);
  });

  it("a shadow that is down is counted as an error; the client sees nothing of it", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${proxy.url}/down`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("legacy ");
    }
    const text = await until(metrics, (t) => counter(t, /strangler_shadow_comparisons_total\{route="down",outcome="error"\} (\d+)/) >= 3);
    expect(counter(text, /strangler_shadow_comparisons_total\{route="down",outcome="error"\} (\d+)/)).toBe(3);
    const { signatures } = await adminJson<{ signatures: Array<{ path: string; kind: string }> }>(proxy.adminUrl, "/api/routes/down/divergences");
    expect(signatures).toMatchObject([{ path: "$", kind: "error" }]);
  });

  it("writes are not shadowed unless the route opts in; then the shadow carries x-strangler-shadow: 1", async () => {
    seenByTarget.length = 0;
    await (await fetch(`${proxy.url}/write`, { method: "POST", body: "order-1" })).text();
    await new Promise((r) => setTimeout(r, 200));
    expect(seenByTarget).toEqual([]);

    const res = await fetch(`${proxy.url}/write-shadowed`, { method: "POST", body: "order-2", headers: { "x-request-id": "write-42" } });
    expect(await res.text()).toBe("legacy order-2");
    const shadowed = await until(async () => seenByTarget.slice(), (s) => s.length > 0);
    expect(shadowed[0]).toMatchObject({ method: "POST", body: "order-2", headers: { "x-strangler-shadow": "1", "x-request-id": "write-42" } });
  });

  it("a request body over maxBodyBytes goes through unshadowed, and is counted", async () => {
    seenByTarget.length = 0;
    const big = "y".repeat(5_000);
    const res = await fetch(`${proxy.url}/write-shadowed`, { method: "POST", body: big });
    expect(await res.text()).toBe(`legacy ${big}`);
    const text = await until(metrics, (t) => /strangler_shadow_skipped_total\{route="writes",reason="body_too_large"\} 1/.test(t));
    expect(text).toMatch(/strangler_shadow_skipped_total\{route="writes",reason="body_too_large"\} 1/);
    expect(seenByTarget).toEqual([]);
  });

  it("with shadows slowed, the in-flight cap holds and the excess is counted as dropped", async () => {
    const capped = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: legacy.url }, target: { url: target.url } },
        shadowing: { maxInFlight: 2 },
        routes: [{ id: "overload", match: { path: "/slow/overload" }, target: "target", rollout: { percent: 0 }, shadow: { percent: 100 } }],
      }, "capped.config.ts"),
    );
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, capped.shadows.inFlight)), 5);
    try {
      const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${capped.url}/slow/overload`).then((r) => r.text())));
      expect(answers.every((a) => a === "fast")).toBe(true);
      await until(async () => capped.shadows.inFlight, (n) => n === 0, 10_000);
      expect(peak).toBeLessThanOrEqual(2);
      expect(await (await fetch(`${capped.adminUrl}/metrics`)).text()).toMatch(/strangler_shadow_skipped_total\{route="overload",reason="overload"\} 8/);
    } finally {
      clearInterval(sampler);
      await capped.close();
    }
  });

  it("a 10 MB response is compared in a worker, without blocking the proxy's event loop", async () => {
    // The proxy in a process of its own, so that its event loop lag (prom-client's default metrics, from
    // monitorEventLoopDelay) is the proxy's alone, not the test client's or the backends'.
    const child = await spawnProxy(
      /* PROF */
      writeConfig(temp.dir, {
        backends: { legacy: { url: legacy.url }, target: { url: target.url } },
        routes: [
          { id: "big", match: { path: "/big" }, target: "target", rollout: { percent: 0 }, shadow: { percent: 100, maxResponseBytes: 16 * 1024 * 1024 } },
          // The same 10 MB, not shadowed: the lag a starved machine gives the process anyway, measured alongside.
          { id: "big-plain", match: { path: "/big-plain" }, target: "target", rollout: { percent: 0 } },
        ],
      }, "big.config.ts"),
      {},
      process.env.PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROF_DIR}`] : [],
    );
    try {
      const lagMax = async () => Number(/^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(await (await fetch(`${child.adminUrl}/metrics`)).text())?.[1]);
      const compared = async () => (await adminJson<{ compared: number }>(child.adminUrl, "/api/routes/big/shadow")).compared;
      // Warm up (the worker thread starts on first use), then measure a second exchange.
      await (await fetch(`${child.url}/big`)).arrayBuffer();
      await until(compared, (n) => n >= 1, 30_000);
      // Each shadowed exchange follows the same 10 MB unshadowed, and what is judged is the least, over
      // five such pairs (three were not enough: in CI a burst of other tests' load lasted all three, 174–249 ms
      // extra each, where alone the extra is 3–11 ms and inline parsing adds 180–360), of the shadowed one's worst lag above its unshadowed twin's: work done inline
      // (parsing 2 × 10 MB blocks for several hundred ms) adds to every pair alike, while a busy machine
      // (other test files, a browser, a compile) delays the process now and then, both of a pair as often
      // as one (in CI: 233 and 200 ms for two unshadowed exchanges, 219 and 224 for their shadowed twins).
      const lags: number[] = [];
      const plainLags: number[] = [];
      for (let exchange = 2; exchange <= 6; exchange++) {
        await lagMax(); // a scrape resets the lag histogram
        const plain = await fetch(`${child.url}/big-plain`);
        expect((await plain.arrayBuffer()).byteLength).toBe(bigLegacy.length);
        plainLags.push((await lagMax()) * 1000);
        const res = await fetch(`${child.url}/big`);
        expect((await res.arrayBuffer()).byteLength).toBe(bigLegacy.length);
        await until(compared, (n) => n >= exchange, 30_000);
        lags.push((await lagMax()) * 1000);
      }
      const extraMs = Math.min(...lags.map((lag, i) => lag - (plainLags[i] as number)));
      console.log(`proxy event loop: max lag ${lags.map((l) => l.toFixed(1)).join(", ")} ms in five exchanges where a 10 MB pair was streamed, teed and compared (unshadowed twins: ${plainLags.map((l) => l.toFixed(1)).join(", ")} ms; least extra ${extraMs.toFixed(1)} ms)`);
      const r = await adminJson<{ topDivergences: Array<{ path: string; kind: string }> }>(child.adminUrl, "/api/routes/big/shadow");
      expect(r.topDivergences.map((d) => `${d.kind} ${d.path}`)).toEqual(["changed $.version"]);
      // ~20 ms is the aim; the bound is wide for a loaded CI machine. Parsing 2 × 10 MB inline blocks for several hundred ms.
      expect(extraMs).toBeLessThan(100);
    } finally {
      await child.stop();
    }
  });

  it("stored examples never hold an authorization or cookie value, nor a redacted body field", async () => {
    await (await fetch(`${proxy.url}/private`, { headers: { authorization: SECRET_TOKEN, cookie: SECRET_COOKIE } })).text();
    const { signatures } = await until(
      () => adminJson<{ signatures: Array<{ examples: Array<{ requestHeaders: Record<string, string>; legacyBody: string; targetBody: string }> }> }>(proxy.adminUrl, "/api/routes/private/divergences"),
      (x) => x.signatures.length > 0,
    );
    const example = signatures[0]?.examples[0];
    expect(example?.requestHeaders).toMatchObject({ authorization: "[redacted]", cookie: "[redacted]" });
    expect(JSON.parse(example?.legacyBody ?? "{}")).toEqual({ email: "[redacted]", plan: "gold" });
    // Nothing anywhere in the database files: the main file and its write-ahead log.
    await proxy.shadows.flush();
    for (const file of readdirSync(dataDir)) {
      const bytes = readFileSync(join(dataDir, file)).toString("latin1");
      for (const secret of ["very-secret-token-42", "cookie-secret-77", "someone@example.com"]) expect(bytes, `${file} holds ${secret}`).not.toContain(secret);
    }
  });

  it("a divergence can be acknowledged, and a route's evidence reset after a fix, both audited", async () => {
    const { signatures } = await adminJson<{ signatures: Array<{ id: number }> }>(proxy.adminUrl, "/api/routes/private/divergences");
    const id = signatures[0]?.id as number;
    const acked = await adminJson<{ status: string }>(proxy.adminUrl, `/api/divergences/${id}/acknowledge`, { method: "POST", json: { status: "accepted", reason: "plans were renamed on purpose" } });
    expect(acked.status).toBe("accepted");
    expect((await adminJson<{ signatures: unknown[] }>(proxy.adminUrl, "/api/routes/private/divergences")).signatures).toEqual([]);
    expect((await adminJson<{ signatures: unknown[] }>(proxy.adminUrl, "/api/routes/private/divergences?status=accepted")).signatures).toHaveLength(1);
    const reset = await adminJson<{ removed: { signatures: number } }>(proxy.adminUrl, "/api/routes/private/shadow/reset", { method: "POST", json: { reason: "fixed in release 42" } });
    expect(reset.removed.signatures).toBe(1);
    expect((await report("private")).counts).toEqual({ match: 0, diverge: 0, error: 0, skipped: 0 });
    const audit = await adminJson<{ entries: Array<{ action: string }> }>(proxy.adminUrl, "/api/audit?route=private&limit=2");
    expect(audit.entries.map((e) => e.action)).toEqual(["reset_shadow_evidence", "acknowledge_divergence"]);
  });
});
