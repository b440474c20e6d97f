import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { passesLuhn } from "../../src/redaction/free-text.ts";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

/**
 * The redaction canary: 50 known secrets planted in every channel a shadowed exchange has (request
 * headers by name and in free text, query parameters, the path, JSON and form request bodies, both
 * backends' answers as JSON, broken JSON, plain text and HTML, and their Set-Cookie headers), with every
 * answer diverging so that each exchange is stored as an example. None of the secrets may then be found
 * in the SQLite files' bytes, in what the admin API exports (examples, a replay) or in the logs at trace level.
 */
const hex = (n: number) => randomBytes(n).toString("hex");
const b64url = (n: number) => randomBytes(n).toString("base64url");
const secret = () => `cn${hex(12)}`;
const jwt = () => `eyJ${b64url(12)}.eyJ${b64url(24)}.${b64url(32)}`;
const email = () => `u.${hex(6)}@canary-${hex(3)}.example`;
/** A Visa-like number that passes Luhn: what a real card number looks like. */
function card(): string {
  for (;;) {
    const digits = `4${[...randomBytes(15)].map((b) => b % 10).join("")}`;
    if (passesLuhn(digits)) return digits;
  }
}

const planted: string[] = [];
const plant = <T extends string>(value: T): T => (planted.push(value), value);

describe("the redaction canary: 50 secrets in every channel, none stored, exported, recorded, replayed or logged", () => {
  const temp = makeTempDir();
  const logged: string[] = [];
  let legacy: Fixture;
  let service: Fixture;
  let proxy: Strangler;
  let n = 0;
  const dataDir = join(temp.dir, "data");

  /** Each backend answers a new field per request (so each is a new divergence, stored as an example), and secrets of its own. */
  const answer = (side: "legacy" | "target") => (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on("end", () => {
      const i = String(req.headers["x-n"] ?? "0");
      res.setHeader("set-cookie", `sid=${plant(secret())}; HttpOnly`);
      const kind = Number(i) % 4;
      if (kind === 0) {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ [`field${i}`]: side, session: { accessToken: plant(secret()), sessionId: plant(secret()) }, owner: plant(email()), note: `signed ${plant(jwt())}`, list: [{ secret: plant(secret()) }] }));
      } else if (kind === 1) {
        res.setHeader("content-type", "text/plain");
        res.end(`${side} ${i}: password=${plant(secret())} and Authorization: Bearer ${plant(secret())} for ${plant(email())}`);
      } else if (kind === 2) {
        res.setHeader("content-type", "text/html");
        res.end(`<p>${side} ${i} card ${plant(card())}</p><p>api_key: ${plant(secret())}</p>`);
      } else {
        // JSON the comparer cannot parse: its members are still found by their look.
        res.setHeader("content-type", "application/json");
        res.end(`{"field${i}":"${side}","password":"${plant(secret())}","token":"${plant(secret())}",`);
      }
    });
  };

  beforeAll(async () => {
    legacy = await startFixture(answer("legacy"));
    service = await startFixture(answer("target"));
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => (logged.push(chunk.toString()), done()) });
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: legacy.url }, svc: { url: service.url } },
        routes: [
          {
            id: "lookup",
            match: { path: "/lookup/*" },
            target: "svc",
            rollout: { percent: 0 },
            shadow: { percent: 100, methods: ["GET", "POST"], shadowWrites: true, redact: { bodyFields: ["$.profile.nickname"] }, noise: { learn: false } },
          },
        ],
        redaction: { headers: ["x-vendor-pass"], queryParams: ["tenant"], fields: ["memberPin"], pseudonymize: { headers: ["x-user-id"], queryParams: ["customer"], fields: ["customerId"] } },
        // Answers that are not JSON diverge under one signature: keep an example of every one of them.
        shadowing: { examplesPerSignature: 20, examplesPerSignaturePerMinute: 20 },
      }),
      { logger: pino({ level: "trace" }, sink), dataDir },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), service.close()]);
    temp.remove();
  });

  it("plants them, stores an example of every exchange, and finds none of them anywhere", async () => {
    const send = async (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => {
      const res = await fetch(`${proxy.url}${path}`, { ...init, headers: { ...init.headers, "x-n": String(n++) } });
      await res.arrayBuffer();
      expect(res.status).toBe(200);
    };
    // The route is recorded too: every exchange, at rate 1.
    const recording = (await (await fetch(`${proxy.adminUrl}/api/routes/lookup/recordings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ rate: 1, reason: "canary" }) })).json()) as { id: number };
    // An id that must still correlate: pseudonymized in a header, a query parameter and a JSON member.
    const customer = plant(`cust-${hex(8)}`);
    await send(`/lookup/correlated?customer=${customer}`, { headers: { "x-user-id": customer } });
    await send("/lookup/correlated-json", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ customerId: customer }) });
    // Request headers: credentials by name, the config's own name, secrets by shape under harmless names.
    await send("/lookup/headers", {
      headers: {
        authorization: `Bearer ${plant(secret())}`,
        cookie: `session=${plant(secret())}; theme=dark`,
        "x-api-key": plant(secret()),
        "x-auth-token": plant(secret()),
        "proxy-authorization": `Basic ${plant(secret())}`,
        "x-vendor-pass": plant(secret()),
        "x-refresh-token": plant(secret()),
        "x-note": `from ${plant(jwt())}`,
        "x-contact": plant(email()),
      },
    });
    // The query: credential parameters, the config's own, secrets by shape under harmless names; the path.
    await send(`/lookup/query?page=2&api_key=${plant(secret())}&access_token=${plant(secret())}&key=${plant(secret())}&sig=${plant(secret())}&tenant=${plant(secret())}&code=${plant(secret())}&password=${plant(secret())}`);
    await send(`/lookup/${encodeURIComponent(plant(email()))}?q=${encodeURIComponent(plant(email()))}&ref=${plant(card())}`);
    // A JSON request body: credential-named members at any depth, a card as a number, the config's field, the route's path.
    await send("/lookup/json", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: plant(secret()), apiKey: plant(secret()), nested: { client_secret: plant(secret()), refreshToken: plant(secret()) }, card: Number(plant(card())), note: plant(jwt()), contact: plant(email()), memberPin: plant(secret()), pin: plant(secret()), profile: { nickname: plant(secret()) } }),
    });
    // A form body.
    await send("/lookup/form", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `user=jane&password=${plant(secret())}&token=${plant(secret())}&mail=${encodeURIComponent(plant(email()))}&cc=${plant(card())}&otp=${plant(secret())}`,
    });
    await send("/lookup/more-answers");
    await send("/lookup/more-answers-2");
    await send("/lookup/more-answers-3");
    expect(planted.length).toBeGreaterThanOrEqual(50);
    expect(new Set(planted).size).toBe(planted.length);

    // Every exchange was compared and stored as an example (under each of its signatures).
    let examples: Array<Record<string, unknown>> = [];
    const exchanges = () => new Set(examples.map((e) => e.requestId)).size;
    const deadline = Date.now() + 10_000;
    while (exchanges() < n && Date.now() < deadline) {
      await proxy.shadows.flush();
      const { signatures } = (await (await fetch(`${proxy.adminUrl}/api/routes/lookup/divergences?status=all&examples=20`)).json()) as { signatures: Array<{ examples: Array<Record<string, unknown>> }> };
      examples = signatures.flatMap((s) => s.examples).filter((e, i, all) => all.findIndex((o) => o.id === e.id) === i);
      if (exchanges() < n) await new Promise((r) => setTimeout(r, 100));
    }
    expect(exchanges()).toBe(n);
    const exported = JSON.stringify(examples);
    // The redaction is visible, not silent: markers where the secrets stood, the request bodies kept.
    for (const marker of ["[redacted]", "[redacted jwt]", "[redacted email]", "[redacted card]", "%5Bredacted%5D"]) expect(exported).toContain(marker);
    expect(examples.some((e) => String(e.requestBody).includes('"password":"[redacted]"'))).toBe(true);
    // The pseudonymized id correlates: one pseudonym in the header, the query and the body, for the same customer.
    const pseudonyms = new Set(
      examples.flatMap((e) => [
        (e.requestHeaders as Record<string, string>)["x-user-id"],
        /customer=(psn_[\w-]+)/.exec(String(e.query))?.[1],
        /"customerId":"(psn_[\w-]+)"/.exec(String(e.requestBody))?.[1],
      ]).filter((p): p is string => p !== undefined),
    );
    expect([...pseudonyms]).toHaveLength(1);
    expect([...pseudonyms][0]).toMatch(/^psn_/);

    // A replay of the headers example: what it sends and answers, exported too.
    const replays: string[] = [];
    for (const example of examples.filter((e) => e.method === "GET")) {
      const res = await fetch(`${proxy.adminUrl}/api/divergences/${String(example.signatureId)}/examples/${String(example.id)}/replay`, { method: "POST" });
      replays.push(await res.text());
    }
    expect(replays.length).toBeGreaterThan(3);

    // The recording, exported both ways, and replayed against the service (whose answers plant secrets of their own).
    const admin = (path: string, body?: unknown) => fetch(`${proxy.adminUrl}${path}`, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await admin(`/api/recordings/${recording.id}/stop`, { reason: "enough" })).status).toBe(200);
    const recordingExports = [await (await admin(`/api/recordings/${recording.id}/export`)).text(), await (await admin(`/api/recordings/${recording.id}/export?format=har`)).text()];
    expect(recordingExports[0]?.split("\n").filter(Boolean).length).toBe(1 + n);
    let run = (await (await admin(`/api/recordings/${recording.id}/replays`, { against: service.url, sandbox: true, pacing: { mode: "concurrency", limit: 4 }, reason: "canary" })).json()) as { id: number; status: string };
    while (run.status === "running") {
      await new Promise((r) => setTimeout(r, 50));
      run = (await (await admin(`/api/replays/${run.id}`)).json()) as typeof run;
    }
    const runReport = JSON.stringify(run);
    expect(runReport).toContain('"signatures"');

    await proxy.shadows.flush();
    // The migration map learns from every path: reading it writes what it learned to the store first.
    const map = await (await fetch(`${proxy.adminUrl}/api/map`)).text();
    const stored = ["strangler.db", "strangler.db-wal"].map((f) => join(dataDir, f)).filter(existsSync).map((f) => readFileSync(f));
    expect(stored.length).toBeGreaterThan(0);
    const channels: Array<[string, (s: string) => boolean]> = [
      ["the SQLite files", (s) => stored.some((bytes) => bytes.includes(s))],
      ["the exported examples", (s) => exported.includes(s)],
      ["the replays", (s) => replays.some((r) => r.includes(s))],
      ["the recording's exports", (s) => recordingExports.some((r) => r.includes(s))],
      ["the replay run's report", (s) => runReport.includes(s)],
      ["the migration map", (s) => map.includes(s)],
      ["the logs", (s) => logged.some((l) => l.includes(s))],
    ];
    const found = planted.flatMap((s) => channels.filter(([, has]) => has(s)).map(([where]) => `${s} in ${where}`));
    expect(found).toEqual([]);
  });
});
