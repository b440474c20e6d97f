import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { createThrowawayCa, writePem } from "../helpers/tls.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PROMETHEUS = join(ROOT, "deploy", "prometheus");
const DASHBOARD = join(ROOT, "deploy", "grafana", "strangler-fig.json");

/** Runs promtool (Debian's prometheus package; npm test's pretest installs it); its exit code and output. */
async function promtool(args: string[], cwd = PROMETHEUS): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)("promtool", args, { cwd });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: typeof e.code === "number" ? e.code : 1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

/** The metric names a PromQL expression reads (this proxy's own, and Node's process metrics). */
const metricNames = (expr: string) => [...expr.matchAll(/\b((?:strangler|nodejs|process)_[a-z0-9_]+)\b/g)].map((m) => m[1] as string);

describe("the Prometheus and Grafana kit under deploy/", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let svc: Fixture;
  let proxy: Strangler;
  let exported: Set<string>;
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }>; templating: { list: Array<{ name: string; definition?: string }> } };
  const alerts = parse(readFileSync(join(PROMETHEUS, "alerts.yml"), "utf8")) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };

  beforeAll(async () => {
    legacy = await startFixture((_req, res) => res.setHeader("content-type", "application/json").end('{"id":1,"name":"kettle"}'));
    svc = await startFixture((_req, res) => res.setHeader("content-type", "application/json").end('{"id":1,"name":"kettle"}'));
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: legacy.url }, svc: { url: svc.url } },
        routes: [
          {
            id: "r",
            match: { path: "/r" },
            target: "svc",
            rollout: { percent: 50 },
            shadow: { percent: 100 },
            guard: { maxErrorRate: 0.5 },
            promote: { steps: [50, 100] },
            fallback: {},
          },
        ],
      }),
      { guardTimer: false },
    );
    for (let i = 0; i < 40; i++) await (await fetch(`${proxy.url}/r`, { headers: { "x-user-id": `u${i}` } })).arrayBuffer();
    await proxy.shadows.flush();
    const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    // A listener with TLS exports the certificate series too.
    writePem(temp.dir, "tls", createThrowawayCa().issue(["127.0.0.1"]));
    const secure = await startTestProxy(writeConfig(temp.dir, { backends: { legacy: { url: legacy.url } }, server: { tls: { cert: "tls.crt", key: "tls.key" } } }, "tls.config.ts"));
    const tlsText = await (await fetch(`${secure.adminUrl}/metrics`)).text();
    await secure.close();
    exported = new Set(`${text}\n${tlsText}`.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(/[{ ]/)[0] as string));
  });
  afterAll(async () => {
    await proxy?.close();
    await Promise.all([legacy?.close(), svc?.close()]);
    temp.remove();
  });

  it("the alerting rules pass promtool check rules and their unit tests (promtool test rules)", async () => {
    const check = await promtool(["check", "rules", "alerts.yml"]);
    expect(check.code, check.output).toBe(0);
    expect(check.output).toContain("SUCCESS: 9 rules found");
    const test = await promtool(["test", "rules", "alerts.test.yml"]);
    expect(test.code, test.output).toBe(0);
  });

  it("every alert reads metrics the proxy really exports", () => {
    for (const rule of alerts.groups.flatMap((g) => g.rules)) {
      for (const name of metricNames(rule.expr)) expect(exported.has(name), `${rule.alert}: ${name}`).toBe(true);
    }
  });

  it("every dashboard query is valid PromQL and names only metrics a live proxy exports", async () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThanOrEqual(11);
    // promtool parses PromQL in rule files: each query becomes a recording rule, Grafana's variables filled in.
    const rules = { groups: [{ name: "dashboard", rules: exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: e.expr.replaceAll("$__rate_interval", "5m").replaceAll("$route", ".*") })) }] };
    writeFileSync(join(temp.dir, "dashboard-queries.yml"), JSON.stringify(rules));
    const check = await promtool(["check", "rules", "dashboard-queries.yml"], temp.dir);
    expect(check.code, check.output).toBe(0);
    for (const { panel, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, panel).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name), `${panel}: ${name}`).toBe(true);
    }
    for (const v of dashboard.templating.list.filter((t) => t.definition)) {
      for (const name of metricNames(v.definition as string)) expect(exported.has(name), `variable ${v.name}: ${name}`).toBe(true);
    }
  });

  it("the dashboard covers what an operator watches: split, errors and p99 per side, match rate, divergences, trips, rollout", () => {
    const all = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
    for (const needed of ["strangler_requests_total", "strangler_request_duration_seconds_bucket", "strangler_shadow_comparisons_total", "strangler_guard_trips_total", "strangler_rollout_percent", "strangler_route_state", "strangler_fallbacks_total"]) {
      expect(all).toContain(needed);
    }
    expect(all).toMatch(/histogram_quantile\(0\.99/);
  });
});
