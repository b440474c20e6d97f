import type { IncomingHttpHeaders } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/wait.ts";

const TOKEN = "replay-token-0123456789";

interface Example {
  readonly id: number;
  readonly method: string;
  readonly path: string;
}
interface Signature {
  readonly id: number;
  readonly kind: string;
  readonly path: string;
  readonly examples: Example[];
}

/**
 * Replaying a stored divergence example over the admin API (POST /api/divergences/:id/examples/:exampleId/replay),
 * against real backends: what is sent (no credentials that were stored redacted, a replay marker), what
 * comes back (a fresh comparison), and every way it refuses, each a JSON error; each replay audited.
 */
describe("replaying a stored divergence example", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let target: Fixture;
  let proxy: Strangler;
  const seenByTarget: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> = [];
  const mode = { fixed: false, large: false, slow: false };

  beforeAll(async () => {
    legacy = await startFixture((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ path: req.url, price: 4.99 }));
    });
    target = await startFixture((req, res) => {
      seenByTarget.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      res.setHeader("content-type", "application/json");
      const answer = () => res.end(mode.large ? JSON.stringify({ path: req.url, pad: "x".repeat(50_000) }) : JSON.stringify({ path: req.url, price: mode.fixed ? 4.99 : "4.99" }));
      if (mode.slow) setTimeout(answer, 3_000);
      else answer();
    });
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        admin: { replayTimeoutMs: 300 },
        backends: { legacy: { url: legacy.url }, target: { url: target.url } },
        routes: [
          {
            id: "items",
            match: { path: "/items/:id" },
            target: "target",
            rollout: { percent: 0 },
            shadow: { percent: 100, methods: ["GET", "POST"], shadowWrites: true, maxResponseBytes: 20_000 },
          },
          { id: "unshadowed", match: { path: "/plain/:id" }, target: "target", rollout: { percent: 0 } },
        ],
      }),
      { adminTokens: [{ label: "ops", token: TOKEN }], guardTimer: false },
    );
    // A GET carrying credentials, and a POST: both diverge (the price as a string) and are stored.
    await (await fetch(`${proxy.url}/items/1?view=full`, { headers: { authorization: "Bearer user-secret", "x-user-id": "u1", accept: "application/json" } })).arrayBuffer();
    await (await fetch(`${proxy.url}/items/2`, { method: "POST", headers: { "content-type": "application/json", "x-user-id": "u2" }, body: "{}" })).arrayBuffer();
    await until(async () => proxy.shadows.inFlight, (n) => n === 0);
  });
  afterAll(async () => {
    await proxy?.close();
    await Promise.all([legacy?.close(), target?.close()]);
    temp.remove();
  });

  const authorized = { authorization: `Bearer ${TOKEN}` };
  const replay = (signatureId: number | string, exampleId: number | string, body: string = "{}", headers: Record<string, string> = authorized) =>
    fetch(`${proxy.adminUrl}/api/divergences/${signatureId}/examples/${exampleId}/replay`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  async function exampleOf(method: string): Promise<{ signature: Signature; example: Example }> {
    const { signatures } = (await (await fetch(`${proxy.adminUrl}/api/routes/items/divergences?examples=10`, { headers: authorized })).json()) as { signatures: Signature[] };
    for (const signature of signatures) {
      const example = signature.examples.find((e) => e.method === method);
      if (example) return { signature, example };
    }
    throw new Error(`no stored ${method} example`);
  }

  it("sends the stored GET again to both backends, without the credentials stored redacted, and answers the fresh diff", async () => {
    const { signature, example } = await exampleOf("GET");
    seenByTarget.length = 0;
    const res = await replay(signature.id, example.id);
    expect(res.status).toBe(200);
    const result = (await res.json()) as Record<string, unknown>;
    expect(result).toMatchObject({
      signatureId: signature.id,
      exampleId: example.id,
      request: { method: "GET", path: "/items/1", query: "view=full", withheldHeaders: ["authorization"], withheldQueryParams: [] },
      legacy: { backend: "legacy", status: 200, error: null },
      target: { backend: "target", status: 200, error: null },
      outcome: "diverge",
      diff: ['type_changed $.price: 4.99 → "4.99"'],
    });
    expect(seenByTarget).toHaveLength(1);
    expect(seenByTarget[0]?.url).toBe("/items/1?view=full");
    expect(seenByTarget[0]?.headers.authorization).toBeUndefined();
    expect(seenByTarget[0]?.headers.accept).toBe("application/json");
    expect(seenByTarget[0]?.headers["x-strangler-replay"]).toBe(`${signature.id}/${example.id}`);
  });

  it("after a fix, the same example now matches, and the replay is in the audit trail", async () => {
    const { signature, example } = await exampleOf("GET");
    mode.fixed = true;
    try {
      const result = (await (await replay(signature.id, example.id)).json()) as { outcome: string; diff: string[]; legacyBody: unknown; targetBody: unknown };
      expect(result).toMatchObject({ outcome: "match", diff: [], legacyBody: null, targetBody: null });
    } finally {
      mode.fixed = false;
    }
    const { entries } = (await (await fetch(`${proxy.adminUrl}/api/audit?route=items&limit=10`, { headers: authorized })).json()) as { entries: Array<{ action: string; actor: string; newValue: { outcome: string } }> };
    const replays = entries.filter((e) => e.action === "replay_example");
    expect(replays.length).toBeGreaterThanOrEqual(2);
    expect(replays[0]).toMatchObject({ actor: "ops", newValue: { outcome: "match" } });
  });

  it("a backend slower than admin.replayTimeoutMs is that side's error, answered within the bound", async () => {
    const { signature, example } = await exampleOf("GET");
    mode.slow = true;
    try {
      const started = Date.now();
      const result = (await (await replay(signature.id, example.id)).json()) as { outcome: string; target: { status: number | null; error: string | null } };
      expect(Date.now() - started).toBeLessThan(2_500); // the target would take 3 s
      expect(result.target).toMatchObject({ status: null, error: "no answer within 300 ms" });
      expect(result.outcome).toBe("error");
    } finally {
      mode.slow = false;
    }
  });

  it("an answer larger than the route's shadow.maxResponseBytes is refused, as the live comparison skips it", async () => {
    const { signature, example } = await exampleOf("GET");
    mode.large = true;
    try {
      const res = await replay(signature.id, example.id);
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({ error: { code: "response_too_large" } });
    } finally {
      mode.large = false;
    }
  });

  it("a stored POST is not sent again: 409, and the service sees nothing", async () => {
    const { signature, example } = await exampleOf("POST");
    seenByTarget.length = 0;
    const res = await replay(signature.id, example.id);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: "not_idempotent" } });
    expect(seenByTarget).toHaveLength(0);
  });

  it("refuses what it cannot do with a JSON error: unknown ids, a body with options, no token", async () => {
    const { signature, example } = await exampleOf("GET");
    const cases: Array<[Promise<Response>, number, string]> = [
      [replay(999_999, 1), 404, "signature_not_found"],
      [replay("abc", 1), 404, "signature_not_found"],
      [replay(signature.id, 999_999), 404, "example_not_found"],
      [replay(signature.id, example.id, JSON.stringify({ force: true })), 400, "invalid_input"],
      [replay(signature.id, example.id, "{}", {}), 401, "unauthorized"],
    ];
    for (const [response, status, code] of cases) {
      const res = await response;
      expect(res.status, code).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
  });
});
