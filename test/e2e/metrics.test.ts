import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

/** The value of one series in Prometheus text format, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(line.indexOf("{") + 1, line.indexOf("}")).split(",");
    if (want.every((w) => inside.includes(w)) && inside.length === want.length) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("/metrics on the admin listener", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let service: Fixture;
  let proxy: Strangler;

  beforeAll(async () => {
    legacy = await startFixture((_req, res) => {
      res.statusCode = 404;
      res.end("no");
    });
    service = await startFixture((_req, res) => res.end("ok"));
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: legacy.url }, svc: { url: service.url }, down: { url: "http://127.0.0.1:1" } },
        routes: [
          { id: "items", match: { path: "/api/items/:id" }, target: "svc", rollout: { percent: 100 } },
          { id: "broken", match: { path: "/api/broken" }, target: "down", rollout: { percent: 37.5 } },
        ],
      }),
    );
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), service.close()]);
    temp.remove();
  });

  const metrics = async () => (await fetch(`${proxy.adminUrl}/metrics`)).text();

  it("counts requests by route, backend and status class, times them, and shows live percentages", async () => {
    for (const id of ["1", "2", "3"]) await (await fetch(`${proxy.url}/api/items/${id}`)).text();
    for (let i = 0; i < 2; i++) await (await fetch(`${proxy.url}/api/other/${i}`)).text();
    for (let i = 0; i < 4; i++) await (await fetch(`${proxy.url}/api/broken`)).text();
    await (await fetch(`${proxy.url}/api/items/%2f`)).text();

    const text = await metrics();
    expect(sample(text, "strangler_requests_total", { route: "items", backend: "svc", status_class: "2xx" })).toBe(3);
    expect(sample(text, "strangler_requests_total", { route: "_unrouted", backend: "legacy", status_class: "4xx" })).toBe(2);
    const brokenTotal =
      (sample(text, "strangler_requests_total", { route: "broken", backend: "down", status_class: "5xx" }) ?? 0) +
      (sample(text, "strangler_requests_total", { route: "broken", backend: "legacy", status_class: "4xx" }) ?? 0);
    expect(brokenTotal).toBe(4);
    expect(sample(text, "strangler_request_duration_seconds_count", { route: "items", backend: "svc" })).toBe(3);
    expect(sample(text, "strangler_request_duration_seconds_bucket", { route: "items", backend: "svc", le: "+Inf" })).toBe(3);
    expect(sample(text, "strangler_rejected_requests_total", { reason: "bad_request_target" })).toBe(1);
    expect(sample(text, "strangler_rollout_percent", { route: "items" })).toBe(100);
    expect(sample(text, "strangler_rollout_percent", { route: "broken" })).toBe(37.5);
    // Label values are route ids, backend names and classes: never a raw path or a user.
    expect(text).not.toContain("/api/");
  });

  it("the rollout gauge follows a change made through the admin API", async () => {
    const res = await fetch(`${proxy.adminUrl}/api/routes/broken/rollback`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ reason: "backend is down" }),
    });
    expect(res.status).toBe(200);
    expect(sample(await metrics(), "strangler_rollout_percent", { route: "broken" })).toBe(0);
  });

  it("every series a route can move exists at 0 before its first event; a fallback is counted once; latency buckets tell 2 ms from 10 ms", async () => {
    const failing = await startFixture((_req, res) => res.writeHead(500).end("boom"));
    const healthy = await startFixture((_req, res) => res.end("fine"));
    const fresh = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: healthy.url }, failing: { url: failing.url } },
        routes: [
          { id: "guarded", match: { path: "/g" }, target: "failing", rollout: { percent: 0 }, guard: { maxErrorRate: 0.5 }, promote: { steps: [10, 100] }, shadow: { percent: 100 } },
          { id: "fb", match: { path: "/fb" }, target: "failing", rollout: { percent: 100 }, fallback: {} },
        ],
      }, "hygiene.config.ts"),
    );
    try {
      const before = await (await fetch(`${fresh.adminUrl}/metrics`)).text();
      expect(sample(before, "strangler_guard_trips_total", { route: "guarded" })).toBe(0);
      expect(sample(before, "strangler_promotion_steps_total", { route: "guarded" })).toBe(0);
      for (const outcome of ["match", "diverge", "error", "skipped"]) expect(sample(before, "strangler_shadow_comparisons_total", { route: "guarded", outcome })).toBe(0);
      for (const reason of ["status_5xx", "transport_error", "circuit_open", "overloaded"]) expect(sample(before, "strangler_fallbacks_total", { route: "fb", reason })).toBe(0);
      expect(sample(before, "strangler_route_state", { route: "guarded", state: "shadowing" })).toBe(1);
      expect(before).toMatch(/^strangler_evidence_dropped_total 0$/m);
      // Series only for what a route's config can move: no fallback series for a route without fallback.
      expect(sample(before, "strangler_fallbacks_total", { route: "guarded", reason: "status_5xx" })).toBeUndefined();

      // 43 requests the target fails and the monolith answers: 43 fallbacks, no more.
      for (let i = 0; i < 43; i++) expect((await fetch(`${fresh.url}/fb`)).status).toBe(200);
      const after = await (await fetch(`${fresh.adminUrl}/metrics`)).text();
      expect(sample(after, "strangler_fallbacks_total", { route: "fb", reason: "status_5xx" })).toBe(43);
      expect(sample(after, "strangler_requests_total", { route: "fb", backend: "legacy", status_class: "2xx" })).toBe(43);
      expect(sample(after, "strangler_requests_total", { route: "fb", backend: "failing", status_class: "5xx" })).toBe(43);
      const bounds = [...after.matchAll(/^strangler_request_duration_seconds_bucket\{le="([^"]+)",route="fb",backend="legacy"\}/gm)].map((m) => m[1]);
      expect(bounds).toEqual(expect.arrayContaining(["0.0005", "0.001", "0.002", "0.003", "0.005", "0.0075", "0.01", "30", "+Inf"]));
    } finally {
      await fresh.close();
      await Promise.all([failing.close(), healthy.close()]);
    }
  });
});
