import type { IncomingMessage, ServerResponse } from "node:http";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminTokensFromEnv } from "../../src/admin/admin-tokens.ts";
import type { Strangler } from "../../src/strangler.ts";
import { adminJson } from "../helpers/admin.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/wait.ts";

const TOKENS = {
  viewer: "viewer-token-0123456789",
  operator: "operator-token-0123456789",
  admin: "admin-token-0123456789",
  payments: "payments-token-0123456789",
  legacyAdmin: "legacy-admin-token-0123456789",
} as const;
const ROLES = ["viewer", "operator", "admin"] as const;
type Role = (typeof ROLES)[number];
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

interface Operation {
  readonly "x-strangler-role"?: Role;
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
}

/** The monolith and the service answer the same list with one price apart: every shadowed read diverges. */
function answer(side: "legacy" | "target") {
  return (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ path: req.url, price: side === "legacy" ? 10 : 11 }));
  };
}

describe("roles per admin token", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let target: Fixture;
  let proxy: Strangler;
  let browser: Browser | undefined;
  let signatureId: number;
  let exampleId: number;
  let paymentsSignatureId: number;
  let recordingId: number;

  const writeWith = (admin: Record<string, unknown>) =>
    writeConfig(temp.dir, {
      backends: { legacy: { url: legacy.url }, target: { url: target.url } },
      admin,
      routes: [
        { id: "products", match: { methods: ["GET"], path: "/products" }, target: "target", rollout: { percent: 0 }, shadow: { percent: 100, noise: { learn: false } } },
        { id: "payments-refunds", match: { methods: ["GET"], path: "/refunds" }, target: "target", rollout: { percent: 0 }, shadow: { percent: 100, noise: { learn: false } } },
      ],
    });
  const grants = { viewer: { role: "viewer" }, operator: { role: "operator" }, payments: { role: "operator", routes: ["payments-*"] } };

  beforeAll(async () => {
    legacy = await startFixture(answer("legacy"));
    target = await startFixture(answer("target"));
    proxy = await startTestProxy(writeWith({ grants, protectMetrics: true }), {
      // Roles from both places: the config's grants, and one in the environment's `label:role:token`.
      adminTokens: adminTokensFromEnv({
        STRANGLER_ADMIN_TOKENS: `viewer:${TOKENS.viewer},operator:${TOKENS.operator},admin:admin:${TOKENS.admin},payments:${TOKENS.payments},ops:${TOKENS.legacyAdmin}`,
      }),
    });
    // Evidence to act on: a divergence signature on each route, and a stopped recording of products.
    for (let i = 0; i < 3; i++) {
      await fetch(`${proxy.url}/products`).then((r) => r.text());
      await fetch(`${proxy.url}/refunds`).then((r) => r.text());
    }
    type Found = { id: number; examples: Array<{ id: number }> } | undefined;
    const signatureOf = async (route: string) => {
      const read = async (): Promise<Found> =>
        (await adminJson<{ signatures: Array<{ id: number; examples: Array<{ id: number }> }> }>(proxy.adminUrl, `/api/routes/${route}/divergences?examples=1`, { token: TOKENS.viewer })).signatures[0];
      const found = await until(read, (s) => s !== undefined && s.examples.length > 0);
      if (!found) throw new Error(`no divergence on ${route}`);
      return found;
    };
    const products = await signatureOf("products");
    signatureId = products.id;
    exampleId = (products.examples[0] as { id: number }).id;
    paymentsSignatureId = (await signatureOf("payments-refunds")).id;
    const recording = await adminJson<{ id: number }>(proxy.adminUrl, "/api/routes/products/recordings", { method: "POST", token: TOKENS.operator, json: { rate: 1, max: 10, reason: "roles test" } });
    recordingId = recording.id;
    await adminJson(proxy.adminUrl, `/api/recordings/${recordingId}/stop`, { method: "POST", token: TOKENS.operator, json: { reason: "roles test" } });
  });
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await Promise.all([legacy?.close(), target?.close()]);
    temp.remove();
  });

  const call = async (token: string | undefined, method: string, path: string, json?: unknown) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (json !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${proxy.adminUrl}${path}`, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
    const text = await res.text();
    let body: { error?: { code?: string; message?: string; required?: string; role?: string } } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // Not JSON (the metrics' text, an export): only the status is checked.
    }
    return { status: res.status, body };
  };

  const metricsText = async () => (await fetch(`${proxy.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } })).text();
  const count = (text: string, code: string) => Number(new RegExp(`strangler_admin_refusals_total\\{code="${code}"\\} (\\d+)`).exec(text)?.[1] ?? "NaN");

  it("allows each role what the table gives it, and refuses the rest with 403 naming the role needed, over every endpoint of the OpenAPI document", async () => {
    const doc = (await (await fetch(`${proxy.adminUrl}/openapi.json`)).json()) as OpenApi;
    const params: Record<string, string> = { id: "products", name: "legacy", signatureId: String(signatureId), exampleId: String(exampleId), recordingId: String(recordingId), runId: "1" };
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), role: op["x-strangler-role"] })));
    const api = operations.filter((o) => o.path.startsWith("/api/"));
    expect(api.length).toBeGreaterThan(35);
    const refusals: string[] = [];
    // Viewer first, admin last: a call the admin may make runs last (with an empty body most are refused
    // as invalid input before they do anything; the few that run do so once, harmlessly).
    for (const role of ROLES) {
      for (const { path, method, role: needed } of api) {
        expect(needed, `${method} ${path} has a role`).toBeDefined();
        const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) => params[name] as string);
        const { status, body } = await call(TOKENS[role], method, concrete, method === "GET" ? undefined : {});
        const where = `${role} ${method} ${path}: ${status} ${JSON.stringify(body)}`;
        if (RANK[role] >= RANK[needed as Role]) {
          expect(status, where).not.toBe(401);
          expect(status, where).not.toBe(403);
        } else {
          expect(status, where).toBe(403);
          expect(body.error?.code, where).toBe("forbidden");
          expect(body.error?.required, where).toBe(needed);
          expect(body.error?.role, where).toBe(role);
          expect(body.error?.message, where).toContain(`needs role ${needed}`);
          refusals.push(`${role} ${method} ${path}`);
        }
      }
    }
    // Every write is refused to a viewer; retire, re-roll and the evidence's reset to an operator too.
    const writes = api.filter((o) => o.method !== "GET");
    expect(refusals.filter((r) => r.startsWith("viewer ")).length).toBe(writes.length);
    expect(refusals.filter((r) => r.startsWith("operator ")).sort()).toEqual(
      ["POST /api/routes/{id}/reroll", "POST /api/routes/{id}/retire", "POST /api/routes/{id}/shadow/reset", "POST /api/webhooks/{name}/test"].map((e) => `operator ${e}`),
    );
    // A token with no role anywhere is an admin, as before roles (admin.defaultRole).
    expect((await call(TOKENS.legacyAdmin, "GET", "/api/session")).body).toMatchObject({ actor: "ops", role: "admin", routes: null });
    // Without a token: 401, before any role is asked.
    expect((await call(undefined, "PUT", "/api/routes/products/rollout", { percent: 5, reason: "x" })).status).toBe(401);
  });

  it("lets an operator turn the dials, audited under its label, and keeps retire for an admin", async () => {
    const set = await call(TOKENS.operator, "PUT", "/api/routes/products/rollout", { percent: 10, reason: "canary by the operator" });
    expect(set.status).toBe(200);
    const retire = await call(TOKENS.operator, "POST", "/api/routes/products/retire", { reason: "too early" });
    expect(retire.status).toBe(403);
    expect(retire.body.error?.message).toBe('POST /api/routes/:id/retire needs role admin; token "operator" has role operator');
    const viewer = await call(TOKENS.viewer, "POST", "/api/routes/products/rollback", { reason: "not mine to do" });
    expect(viewer.body.error).toMatchObject({ code: "forbidden", required: "operator", role: "viewer" });
    const { entries } = await adminJson<{ entries: Array<{ actor: string; action: string; reason: string }> }>(proxy.adminUrl, "/api/audit?route=products&limit=5", { token: TOKENS.viewer });
    expect(entries.find((e) => e.reason === "canary by the operator")?.actor).toBe("operator");
    // Nothing the refusals asked for happened.
    expect(entries.some((e) => e.reason === "too early" || e.reason === "not mine to do")).toBe(false);
    await call(TOKENS.operator, "POST", "/api/routes/products/rollback", { reason: "back" });
  });

  it("limits a token to its routes: its changes there, not elsewhere, however the route is named", async () => {
    expect((await call(TOKENS.payments, "PUT", "/api/routes/payments-refunds/rollout", { percent: 5, reason: "ours" })).status).toBe(200);
    const elsewhere = await call(TOKENS.payments, "PUT", "/api/routes/products/rollout", { percent: 5, reason: "not ours" });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.error).toMatchObject({ code: "forbidden_route", route: "products" });
    expect(elsewhere.body.error?.message).toBe('token "payments" may change routes payments-* only, not "products"');
    // Named through a signature or a recording: the route behind it counts.
    expect((await call(TOKENS.payments, "POST", `/api/divergences/${signatureId}/acknowledge`, { status: "accepted", reason: "not ours" })).body.error?.code).toBe("forbidden_route");
    expect((await call(TOKENS.payments, "POST", `/api/divergences/${paymentsSignatureId}/acknowledge`, { status: "open", reason: "ours" })).status).toBe(200);
    expect((await call(TOKENS.payments, "POST", `/api/recordings/${recordingId}/replays`, { against: "target", dryRun: true, reason: "not ours" })).body.error?.code).toBe("forbidden_route");
    // It reads every route.
    expect((await call(TOKENS.payments, "GET", "/api/routes/products")).status).toBe(200);
    const session = (await call(TOKENS.payments, "GET", "/api/session")).body as unknown as { role: string; routes: string[]; changeableRoutes: string[] };
    expect(session).toMatchObject({ role: "operator", routes: ["payments-*"], changeableRoutes: ["payments-refunds"] });
    await call(TOKENS.payments, "POST", "/api/routes/payments-refunds/rollback", { reason: "done" });
  });

  it("counts every refusal by its code", async () => {
    const before = await metricsText();
    await call(TOKENS.viewer, "POST", "/api/routes/products/rollback", { reason: "no" });
    await call(TOKENS.payments, "POST", "/api/routes/products/rollback", { reason: "no" });
    await call("not-a-token-0123456789", "GET", "/api/routes");
    const after = await metricsText();
    for (const code of ["forbidden", "forbidden_route", "unauthorized"]) expect(count(after, code), code).toBe(count(before, code) + 1);
  });

  it("lets only an admin replay against a URL that is no configured backend", async () => {
    const ask = (against: string) => ({ against, dryRun: true, reason: "where to" });
    const byOperator = await call(TOKENS.operator, "POST", `/api/recordings/${recordingId}/replays`, ask(`${target.url}/`));
    expect(byOperator.status).toBe(403);
    expect(byOperator.body.error).toMatchObject({ code: "forbidden", required: "admin" });
    expect((await call(TOKENS.operator, "POST", `/api/recordings/${recordingId}/replays`, ask("target"))).status).toBe(200);
    expect((await call(TOKENS.admin, "POST", `/api/recordings/${recordingId}/replays`, ask(`${target.url}/`))).status).toBe(200);
  });

  it("asks a token of any role for /metrics when admin.protectMetrics is on, and follows a reload", async () => {
    expect((await call(undefined, "GET", "/metrics")).status).toBe(401);
    expect((await call(TOKENS.viewer, "GET", "/metrics")).status).toBe(200);
    // The config's grant narrows the environment's role: admin there, viewer here, so viewer.
    writeWith({ grants: { ...grants, admin: { role: "viewer" } }, protectMetrics: false });
    expect(await proxy.reload()).toMatchObject({ applied: true });
    try {
      expect((await call(undefined, "GET", "/metrics")).status).toBe(200);
      expect((await call(TOKENS.admin, "GET", "/api/session")).body).toMatchObject({ actor: "admin", role: "viewer" });
      expect((await call(TOKENS.admin, "POST", "/api/routes/products/reroll", { reason: "x" })).status).toBe(403);
    } finally {
      writeWith({ grants, protectMetrics: true });
      expect(await proxy.reload()).toMatchObject({ applied: true });
    }
  });

  it("shows in the cockpit only what the token may do", async () => {
    browser = await launchChromium();
    const buttonsFor = async (token: string, label: string) => {
      const context = await browser!.newContext({ httpCredentials: { username: label, password: token } });
      const page = await context.newPage();
      await page.goto(`${proxy.adminUrl}/dashboard#/route/products`);
      await page.waitForSelector("#route-page #actions");
      await page.waitForSelector(".signature");
      const who = await page.textContent("#who");
      const actions = await page.$$eval("#actions button", (nodes) => nodes.map((n) => n.id));
      const acknowledge = await page.$$eval(".signature .ack-fixed", (nodes) => nodes.length);
      const record = await page.$$eval("#action-record", (nodes) => nodes.length);
      await context.close();
      return { who, actions, acknowledge, record };
    };
    const viewer = await buttonsFor(TOKENS.viewer, "viewer");
    expect(viewer).toEqual({ who: "viewer · viewer", actions: [], acknowledge: 0, record: 0 });
    const operator = await buttonsFor(TOKENS.operator, "operator");
    expect(operator.actions).toContain("action-set");
    expect(operator.actions).not.toContain("action-reroll");
    expect(operator.acknowledge).toBeGreaterThan(0);
    expect(operator.record).toBe(1);
    const admin = await buttonsFor(TOKENS.admin, "admin");
    expect(admin.actions).toEqual(expect.arrayContaining(["action-set", "action-reroll"]));
    // Limited to payments-*: products is read-only to it.
    const payments = await buttonsFor(TOKENS.payments, "payments");
    expect(payments).toMatchObject({ who: "payments · operator (changes payments-*)", actions: [], acknowledge: 0, record: 0 });
  });
});
