import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { spawnProxy } from "../helpers/child-proxy.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const FORCE_SECRET = "qa-secret-0123456789";

describe("sticky percentage rollout", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let service: Fixture;
  const seenByService: Array<Record<string, unknown>> = [];
  let configPath: string;

  beforeAll(async () => {
    legacy = await startFixture((_req, res) => res.end("legacy"));
    service = await startFixture((req, res) => {
      seenByService.push(req.headers);
      res.end("service");
    });
    configPath = writeConfig(temp.dir, {
      backends: { legacy: { url: legacy.url }, svc: { url: service.url } },
      forceRouting: { secret: FORCE_SECRET },
      routes: [
        { id: "by-header", match: { path: "/h/*" }, target: "svc", rollout: { percent: 50 } },
        { id: "by-cookie", match: { path: "/c/*" }, target: "svc", rollout: { percent: 50, key: { cookie: "session" } } },
        { id: "by-query", match: { path: "/q/*" }, target: "svc", rollout: { percent: 50, key: { query: "uid" } } },
        { id: "by-ip", match: { path: "/ip/*" }, target: "svc", rollout: { percent: 50, key: "ip" } },
        { id: "random", match: { path: "/r/*" }, target: "svc", rollout: { percent: 50, key: "random" } },
        { id: "nobody", match: { path: "/none/*" }, target: "svc", rollout: { percent: 0 } },
      ],
    });
  });
  afterAll(async () => {
    await Promise.all([legacy.close(), service.close()]);
    temp.remove();
  });

  async function sideOf(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<string> {
    const res = await fetch(`${baseUrl}${path}`, { headers });
    return res.text();
  }

  /** Runs `body` against a fresh proxy on the shared config, closing it after. */
  async function withProxy(body: (proxy: Strangler) => Promise<void>): Promise<void> {
    const proxy = await startTestProxy(configPath);
    try {
      await body(proxy);
    } finally {
      await proxy.close();
    }
  }

  /** The side each of `count` users lands on. */
  async function assignments(baseUrl: string, count = 40): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(await sideOf(baseUrl, "/h/x", { "x-user-id": `user-${i}` }));
    return out;
  }

  it("keys by header, cookie or query parameter: the same key always gets the same side", async () => {
    await withProxy(async (proxy) => {
      for (const [path, headersOf] of [
        ["/h/x", (k: string) => ({ "x-user-id": k })],
        ["/c/x", (k: string) => ({ cookie: `theme=dark; session=${k}` })],
        ["/q/x?uid=KEY", () => ({})],
      ] as const) {
        const sides = new Set<string>();
        for (let user = 0; user < 30; user++) {
          const key = `k${user}`;
          const url = path.replace("KEY", key);
          const first = await sideOf(proxy.url, url, headersOf(key));
          for (let again = 0; again < 3; again++) expect(await sideOf(proxy.url, url, headersOf(key)), `${path} ${key}`).toBe(first);
          sides.add(first);
        }
        expect(sides, path).toEqual(new Set(["legacy", "service"]));
      }
      const byIp = new Set<string>();
      for (let i = 0; i < 5; i++) byIp.add(await sideOf(proxy.url, "/ip/x"));
      expect(byIp.size).toBe(1);
    });
  });

  it("random splits vary per request", async () => {
    await withProxy(async (proxy) => {
      const sides = new Set<string>();
      for (let i = 0; i < 40; i++) sides.add(await sideOf(proxy.url, "/r/x", { "x-user-id": "same-user" }));
      expect(sides).toEqual(new Set(["legacy", "service"]));
    });
  });

  it("an anonymous user gets an HttpOnly, SameSite=Lax id cookie and stays on one side with it", async () => {
    await withProxy(async (proxy) => {
      const sides = new Set<string>();
      for (let user = 0; user < 30; user++) {
        const first = await fetch(`${proxy.url}/h/x`);
        const cookie = first.headers.get("set-cookie") ?? "";
        expect(cookie).toMatch(/^strangler_id=[0-9a-f-]{36}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
        const side = await first.text();
        sides.add(side);
        const pair = cookie.split(";")[0] as string;
        for (let again = 0; again < 3; again++) {
          const next = await fetch(`${proxy.url}/h/x`, { headers: { cookie: pair } });
          expect(next.headers.get("set-cookie")).toBeNull();
          expect(await next.text()).toBe(side);
        }
      }
      expect(sides).toEqual(new Set(["legacy", "service"]));
    });
  });

  it("forced routing works with the secret, and is ignored and stripped without it", async () => {
    await withProxy(async (proxy) => {
      expect(await sideOf(proxy.url, "/none/x", { "x-strangler-force": "target", "x-strangler-force-secret": FORCE_SECRET })).toBe("service");
      expect(seenByService.at(-1)?.["x-strangler-force"]).toBeUndefined();
      expect(seenByService.at(-1)?.["x-strangler-force-secret"]).toBeUndefined();
      expect(await sideOf(proxy.url, "/none/x", { "x-strangler-force": "target", "x-strangler-force-secret": "wrong-secret-000000" })).toBe("legacy");
      expect(await sideOf(proxy.url, "/none/x", { "x-strangler-force": "target" })).toBe("legacy");
      const user = { "x-user-id": "forced-user" };
      const natural = await sideOf(proxy.url, "/h/x", user);
      const opposite = natural === "service" ? "legacy" : "target";
      expect(await sideOf(proxy.url, "/h/x", { ...user, "x-strangler-force": opposite, "x-strangler-force-secret": FORCE_SECRET })).not.toBe(natural);
    });
  });

  it("a change through the admin API survives a restart, and the same keys keep their sides", async () => {
    const dataDir = `${temp.dir}/restart-data`;
    const first = await startTestProxy(configPath, { dataDir });
    let before: string[];
    try {
      const res = await fetch(`${first.adminUrl}/api/routes/by-header/rollout`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ percent: 30, reason: "restart test" }),
      });
      expect(res.status).toBe(200);
      before = await assignments(first.url);
    } finally {
      await first.close();
    }
    const second = await startTestProxy(configPath, { dataDir });
    try {
      const route = (await (await fetch(`${second.adminUrl}/api/routes/by-header`)).json()) as { rollout: { livePercent: number; configuredPercent: number } };
      expect(route.rollout).toMatchObject({ livePercent: 30, configuredPercent: 50 });
      expect(await assignments(second.url)).toEqual(before);
    } finally {
      await second.close();
    }
  });

  it("two proxy processes on one database agree on every key, and see each other's changes within a second", async () => {
    const dataDir = `${temp.dir}/shared-data`;
    const a = await spawnProxy(configPath, { DATA_DIR: dataDir });
    const b = await spawnProxy(configPath, { DATA_DIR: dataDir });
    try {
      expect(await assignments(a.url)).toEqual(await assignments(b.url));
      const changed = Date.now();
      const res = await fetch(`${a.adminUrl}/api/routes/by-header/rollout`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ percent: 100, reason: "all in" }),
      });
      expect(res.status).toBe(200);
      let seen = "";
      while (Date.now() - changed < 5_000 && (seen = await sideOf(b.url, "/h/x", { "x-user-id": "someone-new" })) !== "service") {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen).toBe("service");
      expect(Date.now() - changed).toBeLessThan(2_000); // the poll is 250 ms; generous for a loaded machine
      expect(new Set(await assignments(b.url))).toEqual(new Set(["service"]));
      expect(await assignments(a.url)).toEqual(await assignments(b.url));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
