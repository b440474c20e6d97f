import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/guard/clock.ts";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { capturingLogger } from "../helpers/log-capture.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

describe("fallback to the monolith, and circuit breakers", () => {
  const temp = makeTempDir();
  const clock = new ManualClock();
  let legacy: Fixture;
  let failing: Fixture;
  let flaky: Fixture;
  let flakyHealthy = false;
  let flakyRequests = 0;
  const legacyBodies: string[] = [];
  let proxy: Strangler;
  const logs = capturingLogger();

  beforeAll(async () => {
    legacy = await startFixture((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        legacyBodies.push(body);
        res.end(`legacy ${req.method} ${body}`);
      });
    });
    failing = await startFixture((req, res) => {
      if (req.url?.includes("/started")) {
        res.writeHead(200, { "content-length": "1000" });
        res.write("partial");
        return void setTimeout(() => res.socket?.destroy(), 20);
      }
      res.statusCode = 500;
      res.end("target broke");
    });
    flaky = await startFixture((req, res) => {
      flakyRequests++;
      if (!flakyHealthy) return void req.socket.destroy();
      res.end("flaky ok");
    });
    const route = (id: string, path: string, target: string, fallback: Record<string, unknown> | null = {}) => ({
      id,
      match: { path },
      target,
      rollout: { percent: 100 },
      ...(fallback ? { fallback } : {}),
    });
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: {
          legacy: { url: legacy.url },
          down: { url: "http://127.0.0.1:1", circuitBreaker: { failures: 1000, cooldownMs: 1000 } },
          failing: { url: failing.url },
          flaky: { url: flaky.url, circuitBreaker: { failures: 3, cooldownMs: 5_000 } },
          flakynofb: { url: flaky.url, circuitBreaker: { failures: 3, cooldownMs: 5_000 } },
        },
        routes: [
          route("down", "/down/*", "down", { idempotencyKeyHeader: "idempotency-key" }),
          route("failing", "/failing/*", "failing"),
          route("storm", "/storm/*", "failing"),
          route("flaky", "/flaky/*", "flaky"),
          route("flaky-no-fallback", "/nofb/*", "flakynofb", null),
        ],
      }),
      { clock, logger: logs.logger },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), failing.close(), flaky.close()]);
    temp.remove();
  });

  const metrics = async () => (await fetch(`${proxy.adminUrl}/metrics`)).text();

  it("a failure storm logs each kind of event once per interval with a count, not a line per request", async () => {
    for (let i = 0; i < 60; i++) expect((await fetch(`${proxy.url}/storm/${i}`)).status).toBe(200);
    const lines = logs.lines().filter((l) => l.msg === "replayed to legacy" && l.route === "storm");
    // One line in this 10 s interval; the repeats are reported with their count when it closes.
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ route: "storm", backend: "failing", reason: "status_5xx" });
    expect(await metrics()).toMatch(/strangler_fallbacks_total\{route="storm",reason="status_5xx"\} 60/);
  });

  it("a target that is down: the client gets the monolith's answer, no error, and it is counted", async () => {
    const res = await fetch(`${proxy.url}/down/x`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-served-by")).toBe("legacy");
    expect(await res.text()).toBe("legacy GET ");
    expect(await metrics()).toMatch(/strangler_fallbacks_total\{route="down",reason="transport_error"\} 1/);
  });

  it("a target that answers 500 to a read: the monolith answers instead", async () => {
    const res = await fetch(`${proxy.url}/failing/x`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("legacy GET ");
    expect(await metrics()).toMatch(/strangler_fallbacks_total\{route="failing",reason="status_5xx"\} 1/);
  });

  it("a non-idempotent POST is not replayed; one with the route's idempotency key is, body intact", async () => {
    legacyBodies.length = 0;
    const plain = await fetch(`${proxy.url}/down/orders`, { method: "POST", body: "order-1" });
    expect(plain.status).toBe(502);
    expect(legacyBodies).toEqual([]);
    const keyed = await fetch(`${proxy.url}/down/orders`, { method: "POST", body: "order-2", headers: { "idempotency-key": "k-2" } });
    expect(keyed.status).toBe(200);
    expect(await keyed.text()).toBe("legacy POST order-2");
    expect(legacyBodies).toEqual(["order-2"]);
  });

  it("a response already started is not replayed: the client sees it cut", async () => {
    legacyBodies.length = 0;
    const res = await fetch(`${proxy.url}/failing/started`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(legacyBodies).toEqual([]);
  });

  it("a circuit breaker opens after consecutive transport failures, then a probe closes it", async () => {
    flakyHealthy = false;
    flakyRequests = 0;
    for (let i = 0; i < 3; i++) expect(await (await fetch(`${proxy.url}/flaky/x`)).text()).toBe("legacy GET ");
    expect(flakyRequests).toBe(3);
    expect(await metrics()).toMatch(/strangler_circuit_state\{backend="flaky",state="open"\} 1/);
    // Open: the backend is not asked at all; the route's fallback answers.
    for (let i = 0; i < 5; i++) expect(await (await fetch(`${proxy.url}/flaky/x`)).text()).toBe("legacy GET ");
    expect(flakyRequests).toBe(3);
    expect(await metrics()).toMatch(/strangler_fallbacks_total\{route="flaky",reason="circuit_open"\} 5/);

    // After the cool-down one probe goes through; the backend has recovered, so the circuit closes.
    flakyHealthy = true;
    clock.advance(5_000);
    expect(await (await fetch(`${proxy.url}/flaky/x`)).text()).toBe("flaky ok");
    expect(await (await fetch(`${proxy.url}/flaky/x`)).text()).toBe("flaky ok");
    expect(flakyRequests).toBe(5);
    expect(await metrics()).toMatch(/strangler_circuit_state\{backend="flaky",state="closed"\} 1/);
  });

  it("without fallback, an open circuit answers 503 circuit_open at once", async () => {
    flakyHealthy = false;
    for (let i = 0; i < 3; i++) expect((await fetch(`${proxy.url}/nofb/x`)).status).toBe(502);
    const res = await fetch(`${proxy.url}/nofb/x`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: "circuit_open" } });
    flakyHealthy = true;
  });
});
