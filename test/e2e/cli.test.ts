import { spawn } from "node:child_process";
import { once } from "node:events";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { FlagdCore } from "@openfeature/flagd-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { runProcess } from "../helpers/child-proxy.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { createThrowawayCa, writePem } from "../helpers/tls.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOKEN = "operator-token-0123456789";
const VIEWER_TOKEN = "grafana-token-0123456789";

describe("the strangler CLI", () => {
  const temp = makeTempDir();
  let backend: Fixture;
  let proxy: Strangler;

  beforeAll(async () => {
    backend = await startFixture((_req, res) => res.end("ok"));
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: backend.url }, catalog: { url: backend.url } },
        routes: [{ id: "products-list", match: { methods: ["GET"], path: "/api/products" }, target: "catalog", rollout: { percent: 5 } }],
      }),
      { adminTokens: [{ label: "operator", token: TOKEN }, { label: "grafana", role: "viewer", token: VIEWER_TOKEN }] },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await backend.close();
    temp.remove();
  });

  /** Runs `bin/strangler.js` (what `npx strangler` runs) against the proxy's admin URL. */
  async function strangler(args: string[], token: string | null = TOKEN) {
    const env: Record<string, string> = { ...(process.env as Record<string, string>), STRANGLER_ADMIN_URL: proxy.adminUrl };
    if (token) env.STRANGLER_ADMIN_TOKEN = token;
    else delete env.STRANGLER_ADMIN_TOKEN;
    return runProcess(process.execPath, ["bin/strangler.js", ...args], env);
  }

  it("records a route, lists its recordings, and says when there is none to stop", async () => {
    const started = await strangler(["record", "products-list", "--rate", "1", "--max", "3", "--reason", "a fixture for the catalog"]);
    expect(started).toMatchObject({ code: 0, stdout: "products-list: recording 1 started (rate 1, up to 3)\n" });
    for (let i = 0; i < 10; i++) await (await fetch(`${proxy.url}/api/products`, { headers: { "x-user-id": `cli-user-${i}` } })).arrayBuffer();
    const listed = await strangler(["recordings", "--route", "products-list"]);
    expect(listed.code).toBe(0);
    const [header, , row] = listed.stdout.split("\n");
    expect(header).toMatch(/^ID\s+ROUTE\s+STATE\s+STARTED\s+RATE\s+EXCHANGES\s+TRUNCATED\s+DROPPED$/);
    expect(row).toMatch(/^1\s+products-list\s+full\s+\S+\s+1\s+3 \/ 3\s+0\s+0$/);
    const stop = await strangler(["record", "stop", "products-list", "--reason", "done"]);
    expect(stop).toMatchObject({ code: 1, stderr: 'strangler: 409 not_recording: route "products-list" is not being recorded\n' });
    expect((await strangler(["record", "products-list", "--rate", "lots", "--reason", "x"])).code).toBe(2);
    expect((await strangler(["record", "products-list"])).stderr).toContain("--reason");
  });

  it("lists routes as a table", async () => {
    const { code, stdout } = await strangler(["routes"]);
    expect(code).toBe(0);
    const [header, rule, row] = stdout.split("\n");
    expect(header).toMatch(/^ROUTE\s+MATCH\s+LEGACY\s+TARGET\s+STATE\s+CONFIG %\s+LIVE %\s+SOURCE\s+LAST CHANGE$/);
    expect(rule).toMatch(/^-+ +-+/);
    expect(row).toMatch(/^products-list\s+GET \/api\/products\s+legacy\s+catalog\s+canary\s+5\s+5\s+config\s+/);
  });

  it("lists every backend's destinations, and leaves them out of `routes` when there is nothing to say", async () => {
    const { code, stdout } = await strangler(["backends"]);
    expect(code).toBe(0);
    const [header, , ...rows] = stdout.split("\n");
    expect(header).toMatch(/^BACKEND\s+DESTINATION\s+STATE\s+IN FLIGHT\s+LAST CHECK$/);
    expect(rows.filter((r) => r !== "").map((r) => r.split(/\s+/).slice(0, 3))).toEqual([
      ["legacy", backend.url, "in_service"],
      ["catalog", backend.url, "in_service"],
    ]);
    // One destination each, in service, no health checks: `routes` shows the routes alone.
    expect((await strangler(["routes"])).stdout).not.toContain("DESTINATION");
  });

  it("sets a percentage with a reason, rolls back, and shows the audit log", async () => {
    const rollout = await strangler(["rollout", "products-list", "25", "--reason", "second step"]);
    expect(rollout.code).toBe(0);
    expect(rollout.stdout).toContain("products-list: 5% -> 25%");
    const rollback = await strangler(["rollback", "products-list", "--reason", "errors"]);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toContain("products-list: rolled back, 25% -> 0%");
    const audit = await strangler(["audit", "--route", "products-list"]);
    expect(audit.code).toBe(0);
    const lines = audit.stdout.trim().split("\n");
    const rollbackLine = lines.findIndex((l) => /operator\s+rollback\s+products-list\s+25%\s+0%\s+errors$/.test(l));
    const setLine = lines.findIndex((l) => /operator\s+set_percent\s+products-list\s+5%\s+25%\s+second step$/.test(l));
    expect(rollbackLine).toBeGreaterThan(1);
    expect(setLine).toBeGreaterThan(rollbackLine); // newest first
    // The state the rollback moved the route into, in words: canary → legacy at 0%.
    expect(lines.some((l) => /state_change\s+products-list\s+canary\s+legacy 0%\s+percentage 0%: errors$/.test(l)), audit.stdout).toBe(true);
    expect(audit.stdout).not.toContain('{"state"');
  });

  it("says what the API refused, with exit code 1", async () => {
    const bad = await strangler(["rollout", "products-list", "140", "--reason", "too far"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("400 invalid_input: percent: must be between 0 and 100, got 140");
    const unknown = await strangler(["rollback", "nope", "--reason", "x"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("404 route_not_found");
    const noToken = await strangler(["routes"], null);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain("401 unauthorized");
    const viewer = await strangler(["rollout", "products-list", "20", "--reason", "not mine"], VIEWER_TOKEN);
    expect(viewer).toMatchObject({ code: 1, stderr: 'strangler: 403 forbidden: PUT /api/routes/:id/rollout needs role operator; token "grafana" has role viewer\n' });
  });

  it("says who the token is: its label and role", async () => {
    expect(await strangler(["whoami"], VIEWER_TOKEN)).toMatchObject({ code: 0, stdout: "grafana: role viewer\n" });
    expect(await strangler(["whoami"])).toMatchObject({ code: 0, stdout: "operator: role admin\n" });
  });

  it("drives promotion and resume, and says what the API refused", async () => {
    const promote = await strangler(["promote", "start", "products-list", "--reason", "go"]);
    expect(promote.code).toBe(1);
    expect(promote.stderr).toContain("409 no_promotion");
    const resume = await strangler(["resume", "products-list", "--reason", "all good"]);
    expect(resume.code).toBe(0);
    expect(resume.stdout).toMatch(/^products-list: state (legacy|canary)$/m);
    expect((await strangler(["promote", "fly", "products-list", "--reason", "x"])).code).toBe(2);
  });

  it("refuses a command without its reason or arguments, with usage and exit code 2", async () => {
    const noReason = await strangler(["rollout", "products-list", "10"]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason "..." is required');
    const notNumber = await strangler(["rollout", "products-list", "ten", "--reason", "x"]);
    expect(notNumber.code).toBe(2);
    expect((await strangler(["frobnicate"])).stderr).toContain('unknown command "frobnicate"');
    // replay: the candidate, recording ids, one pacing, and a reason unless it is a dry run.
    expect(await strangler(["replay", "1"])).toMatchObject({ code: 2, stderr: expect.stringContaining("replay needs --against") });
    expect(await strangler(["replay", "1;2", "--against", "catalog"])).toMatchObject({ code: 2, stderr: expect.stringContaining("replay takes recording ids") });
    expect(await strangler(["replay", "1", "--against", "catalog", "--rate", "5", "--factor", "2", "--reason", "r"])).toMatchObject({ code: 2, stderr: expect.stringContaining("one of --factor, --rate or --concurrency") });
    expect(await strangler(["replay", "1", "--against", "catalog"])).toMatchObject({ code: 2, stderr: expect.stringContaining('--reason "..." is required') });
    // The API's refusal, as any other: exit 1.
    expect(await strangler(["replay", "999", "--against", "catalog", "--dry-run"])).toMatchObject({ code: 1, stderr: expect.stringContaining("404 unknown_recording") });
  });

  it("exports the live rollouts as a flagd flags file that sends every user where the proxy sends them", async () => {
    expect((await strangler(["rollout", "products-list", "30", "--reason", "for the export"])).code).toBe(0);
    const exported = await strangler(["flags", "export", "--format", "flagd"]);
    expect(exported.code).toBe(0);
    const core = new FlagdCore();
    core.setConfigurations(exported.stdout);
    const keys = Array.from({ length: 300 }, (_, i) => `user-${i}`);
    const proxySides: string[] = [];
    for (const key of keys) {
      const response = await fetch(`${proxy.url}/api/products`, { headers: { "x-user-id": key } });
      await response.arrayBuffer();
      proxySides.push(response.headers.get("x-served-by") === "catalog" ? "target" : "legacy");
    }
    const flagdSides = keys.map((key) => core.resolveStringEvaluation("strangler.route.products-list", "legacy", { targetingKey: key }).value);
    expect(flagdSides).toEqual(proxySides);
    expect(proxySides.filter((s) => s === "target").length).toBeGreaterThan(50); // about 90 of 300
    expect((await strangler(["flags", "export", "--format", "yaml"])).code).toBe(2);
  });

  it("--version, usage without arguments (exit 2), help per command, errors in one line", async () => {
    const version = await strangler(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe("0.1.0");
    const bare = await strangler([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/^usage:/);
    expect((await strangler(["--help"])).code).toBe(0);
    const help = await strangler(["help", "rollout"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^strangler rollout <id> <percent> --reason "\.\.\." \[--json\]\n/);
    expect((await strangler(["retire", "--help"])).stdout).toMatch(/still_served/);
    const unknownOption = await strangler(["routes", "--frobnicate"]);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr.trim().split("\n")).toHaveLength(1);
    expect(unknownOption.stderr).not.toMatch(/\n\s+at /);
  });

  it("answers --json on every command, for scripts", async () => {
    const routes = await strangler(["routes", "--json"]);
    expect(JSON.parse(routes.stdout)).toMatchObject([{ id: "products-list" }]);
    const rollout = await strangler(["rollout", "products-list", "7", "--reason", "json", "--json"]);
    expect(JSON.parse(rollout.stdout)).toMatchObject({ route: { id: "products-list", rollout: { livePercent: 7 } } });
    const rollback = await strangler(["rollback", "products-list", "--reason", "json", "--json"]);
    expect(JSON.parse(rollback.stdout)).toMatchObject({ previousPercent: 7, route: { rollout: { livePercent: 0 } } });
    const audit = await strangler(["audit", "--limit", "2", "--json"]);
    expect(JSON.parse(audit.stdout).entries).toHaveLength(2);
    const resume = await strangler(["resume", "products-list", "--reason", "json", "--json"]);
    expect(JSON.parse(resume.stdout)).toMatchObject({ routeId: "products-list" });
    expect(JSON.parse((await strangler(["map", "--json"])).stdout)).toMatchObject({ templates: expect.any(Object) });
    expect(JSON.parse((await strangler(["--version", "--json"])).stdout)).toEqual({ version: "0.1.0" });
  });

  it("finds the admin API on ADMIN_PORT, as the proxy and the demo do", async () => {
    const env: Record<string, string> = { ...(process.env as Record<string, string>), ADMIN_PORT: String(proxy.adminPort), STRANGLER_ADMIN_TOKEN: TOKEN };
    delete env.STRANGLER_ADMIN_URL;
    const child = spawn(process.execPath, ["bin/strangler.js", "routes"], { cwd: ROOT, env });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    expect((await once(child, "exit"))[0]).toBe(0);
    expect(stdout).toContain("products-list");
  });

  it("strangler check validates a config as start-up does, and starts nothing", async () => {
    const good = await strangler(["check", join(temp.dir, "routes.config.ts")]);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/routes\.config\.ts: valid \(1 routes, 2 backends\)/);
    const bad = writeConfig(temp.dir, { backends: { legacy: { url: backend.url } }, routes: [{ id: "r", match: { path: "/x" }, target: "nope", rollout: { percent: 150 } }] }, "bad.config.ts");
    const refused = await strangler(["check", bad]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('routes[0] (id "r").target: unknown backend "nope"; declared backends: legacy');
    expect(refused.stderr).toContain('routes[0] (id "r").rollout.percent');
    const asJson = await strangler(["check", bad, "--json"]);
    expect(asJson.code).toBe(1);
    expect(JSON.parse(asJson.stderr)).toMatchObject({ ok: false, issues: expect.arrayContaining([expect.stringContaining("unknown backend")]) });
    expect((await strangler(["check", join(temp.dir, "missing.config.ts")])).code).toBe(1);
  });

  it("strangler check takes a path relative to the working directory, as the README writes it", async () => {
    const shipped = await strangler(["check", "routes.config.ts"]);
    expect(shipped.code, shipped.stderr).toBe(0);
    expect(shipped.stdout).toMatch(/^routes\.config\.ts: valid \(\d+ routes, \d+ backends\)/);
    const other = relative(ROOT, join(temp.dir, "routes.config.ts"));
    expect(other.startsWith("..")).toBe(true);
    expect((await strangler(["check", other])).code).toBe(0);
  });

  it("strangler check reads the certificate files: a key that is not its certificate's, or a missing file, is named", async () => {
    const ca = createThrowawayCa();
    const one = ca.issue(["localhost"]);
    const other = ca.issue(["localhost"]);
    writePem(temp.dir, "good", one);
    writePem(temp.dir, "crossed", { cert: one.cert, key: other.key });
    const config = (tls: Record<string, string>, name: string) => writeConfig(temp.dir, { backends: { legacy: { url: backend.url } }, server: { tls: { cert: tls.cert ?? "", key: tls.key ?? "" } } }, name);
    expect((await strangler(["check", config({ cert: "good.crt", key: "good.key" }, "tls-good.config.ts")])).code).toBe(0);
    const crossed = await strangler(["check", config({ cert: "crossed.crt", key: "crossed.key" }, "tls-crossed.config.ts")]);
    expect(crossed.code).toBe(1);
    expect(crossed.stderr).toMatch(/server\.tls: .*crossed\.key is not the key of .*crossed\.crt/);
    const missing = await strangler(["check", config({ cert: "nowhere.crt", key: "good.key" }, "tls-missing.config.ts")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/server\.tls\.cert: cannot read .*nowhere\.crt \(ENOENT\)/);
  });
});
