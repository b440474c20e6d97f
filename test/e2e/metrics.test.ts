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
});
