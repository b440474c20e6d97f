import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { capturingLogger } from "../helpers/log-capture.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

describe("the access log", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let svc: Fixture;
  beforeAll(async () => {
    legacy = await startFixture((_req, res) => res.end("legacy"));
    svc = await startFixture((req, res) => {
      if (req.url?.startsWith("/fails")) res.writeHead(500).end("boom");
      else setTimeout(() => res.end("service"), 20);
    });
  });
  afterAll(async () => {
    await Promise.all([legacy.close(), svc.close()]);
    temp.remove();
  });

  const start = async (sampleRatio: number | undefined, name: string) => {
    const logs = capturingLogger();
    const proxy = await startTestProxy(
      writeConfig(
        temp.dir,
        {
          backends: { legacy: { url: legacy.url }, svc: { url: svc.url } },
          ...(sampleRatio === undefined ? {} : { accessLog: { sampleRatio } }),
          routes: [
            { id: "svc", match: { path: "/svc" }, target: "svc", rollout: { percent: 100 } },
            { id: "fails", match: { path: "/fails" }, target: "svc", rollout: { percent: 100 }, fallback: {} },
          ],
        },
        name,
      ),
      { logger: logs.logger },
    );
    const access = () => logs.lines().filter((l) => l.log === "access");
    return { proxy, access };
  };

  it("writes one JSON line per request with Envoy-like fields, when the ratio is 1", async () => {
    const { proxy, access } = await start(1, "all.config.ts");
    try {
      await (await fetch(`${proxy.url}/svc?secret=1`, { headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`, "x-request-id": "req-1" } })).text();
      await (await fetch(`${proxy.url}/fails`)).text();
      await (await fetch(`${proxy.url}/elsewhere`)).text();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const [svcLine, fallback, unrouted] = access();
      expect(svcLine).toMatchObject({ msg: "access", method: "GET", path: "/svc", route: "svc", decision: "target:SPLIT", backend: "svc", status: 200, completed: true, bytes: 7, requestId: "req-1", traceId: TRACE_ID });
      expect(svcLine?.durationMs as number).toBeGreaterThanOrEqual(upstream(svcLine));
      expect(upstream(svcLine)).toBeGreaterThan(15);
      expect(JSON.stringify(svcLine)).not.toContain("secret"); // no query: it may hold personal data
      // The target failed, the monolith answered: the line names who answered.
      expect(fallback).toMatchObject({ route: "fails", decision: "target:SPLIT", backend: "legacy", status: 200, traceId: null });
      expect(unrouted).toMatchObject({ route: "_unrouted", decision: "unrouted", backend: "legacy", status: 200 });
      expect(access()).toHaveLength(3);
    } finally {
      await proxy.close();
    }
  });

  it("is off by default, and samples by the ratio", async () => {
    const off = await start(undefined, "off.config.ts");
    try {
      for (let i = 0; i < 20; i++) await (await fetch(`${off.proxy.url}/svc`)).text();
      expect(off.access()).toHaveLength(0);
    } finally {
      await off.proxy.close();
    }
    const half = await start(0.5, "half.config.ts");
    try {
      await Promise.all(Array.from({ length: 300 }, async () => (await fetch(`${half.proxy.url}/elsewhere`)).text()));
      await new Promise((resolve) => setTimeout(resolve, 50));
      // 150 expected; ±5 standard deviations (8.7) apart, a wide margin for chance.
      expect(half.access().length).toBeGreaterThan(100);
      expect(half.access().length).toBeLessThan(200);
    } finally {
      await half.proxy.close();
    }
  });
});

const upstream = (line: Record<string, unknown> | undefined) => line?.upstreamMs as number;
