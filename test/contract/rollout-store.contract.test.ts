import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migratePostgres, POSTGRES_MIGRATIONS } from "../../src/store/postgres/migrations.ts";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { storeKinds, withStore, type StoreUnderTest } from "../helpers/stores.ts";

/** One contract, two stores: the embedded SQLite file and PostgreSQL (a throwaway cluster of this file's own). */
let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

describe.each(storeKinds(() => postgres))("the rollout store on %s", (_kind, open) => {
  const rollouts = async (s: StoreUnderTest) => (await s.node()).rollouts;

  it(
    "a new route takes the file's value, audited as route_added from source config",
    withStore(open, async (s) => {
      const store = await rollouts(s);
      expect(await store.reconcile([{ routeId: "a", percent: 10 }], "routes.config.ts")).toEqual(["a"]);
      expect(await store.get("a")).toMatchObject({ routeId: "a", percent: 10, configPercent: 10, source: "config", salt: "", changedBy: "routes.config.ts" });
      expect(await store.audit({ limit: 10 })).toMatchObject([{ action: "route_added", routeId: "a", source: "config", oldValue: null, newValue: { percent: 10, salt: "" } }]);
      expect(await store.get("nope")).toBeUndefined();
    }),
  );

  it(
    "an admin change overrides the file until the file's value for that route changes, which then wins",
    withStore(open, async (s) => {
      const store = await rollouts(s);
      await store.reconcile([{ routeId: "a", percent: 10 }, { routeId: "b", percent: 5 }], "file");
      await store.change({ routeId: "a", percent: 30, actor: "alice", reason: "looks good", source: "admin", action: "set_percent" });
      expect(await store.reconcile([{ routeId: "a", percent: 10 }, { routeId: "b", percent: 5 }], "file")).toEqual([]);
      expect(await store.get("a")).toMatchObject({ percent: 30, configPercent: 10, source: "admin", changedBy: "alice", reason: "looks good" });
      expect(await store.reconcile([{ routeId: "a", percent: 40 }, { routeId: "b", percent: 5 }], "file")).toEqual(["a"]);
      expect(await store.get("a")).toMatchObject({ percent: 40, configPercent: 40, source: "config" });
      const [latest] = await store.audit({ limit: 1 });
      expect(latest).toMatchObject({ action: "config_change", routeId: "a", oldValue: { percent: 30 }, newValue: { percent: 40 } });
    }),
  );

  it(
    "changes percent and salt apart, audits each with who, why, old and new; an unknown route changes nothing",
    withStore(open, async (s) => {
      const store = await rollouts(s);
      await store.reconcile([{ routeId: "a", percent: 0 }], "file");
      expect(await store.change({ routeId: "a", percent: 12.5, actor: "bob", reason: "first cohort", source: "admin", action: "set_percent" })).toMatchObject({
        before: { percent: 0 },
        after: { percent: 12.5, salt: "" },
      });
      await store.change({ routeId: "a", salt: "9f3a", actor: "bob", reason: "fresh cohort", source: "admin", action: "reroll_salt" });
      expect(await store.get("a")).toMatchObject({ percent: 12.5, salt: "9f3a" });
      // A file change keeps the salt.
      await store.reconcile([{ routeId: "a", percent: 20 }], "file");
      expect(await store.get("a")).toMatchObject({ percent: 20, salt: "9f3a" });
      expect(await store.change({ routeId: "nope", percent: 5, actor: "bob", reason: "x", source: "admin", action: "set_percent" })).toBeUndefined();
      await store.appendAudit({ actor: "carol", action: "acknowledge", routeId: "a", oldValue: null, newValue: { signature: 1 }, reason: "known", source: "admin" });
      const entries = await store.audit({ limit: 10 });
      expect(entries.map((e) => e.action)).toEqual(["acknowledge", "config_change", "reroll_salt", "set_percent", "route_added"]);
      expect(entries[3]).toMatchObject({ actor: "bob", reason: "first cohort", oldValue: { percent: 0, salt: "" }, newValue: { percent: 12.5, salt: "" }, at: expect.any(String) });
      expect(entries.every((e, i) => i === 0 || e.id < (entries[i - 1] as { id: number }).id)).toBe(true);
    }),
  );

  it(
    "pages the audit log by id and filters it by route",
    withStore(open, async (s) => {
      const store = await rollouts(s);
      await store.reconcile([{ routeId: "a", percent: 0 }, { routeId: "b", percent: 0 }], "file");
      for (let i = 1; i <= 5; i++) await store.change({ routeId: i % 2 ? "a" : "b", percent: i, actor: "x", reason: `step ${i}`, source: "admin", action: "set_percent" });
      const page1 = await store.audit({ limit: 3 });
      expect(page1.map((e) => e.reason)).toEqual(["step 5", "step 4", "step 3"]);
      const page2 = await store.audit({ limit: 3, before: (page1[2] as { id: number }).id });
      expect(page2.map((e) => e.reason)).toEqual(["step 2", "step 1", "route added in routes.config.ts"]);
      expect((await store.audit({ limit: 10, routeId: "b" })).map((e) => e.reason)).toEqual(["step 4", "step 2", "route added in routes.config.ts"]);
    }),
  );

  it(
    "two nodes changing one route at once: both applied in some order, each audit entry's old value the other's new",
    withStore(open, async (s) => {
      const [one, two] = [await rollouts(s), await rollouts(s)];
      await one.reconcile([{ routeId: "a", percent: 0 }], "file");
      const changes = Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).change({ routeId: "a", percent: i + 1, actor: `node-${i % 2}`, reason: `c${i}`, source: "admin", action: "set_percent" }));
      await Promise.all(changes);
      const entries = (await one.audit({ limit: 100 })).reverse().slice(1); // oldest first, without route_added
      expect(entries).toHaveLength(20);
      for (let i = 1; i < entries.length; i++) expect((entries[i] as AuditLike).oldValue).toEqual((entries[i - 1] as AuditLike).newValue);
      expect((await two.get("a"))?.percent).toEqual(((entries.at(-1) as AuditLike).newValue as { percent: number }).percent);
    }),
  );

  it(
    "two nodes starting with the same file add a new route once",
    withStore(open, async (s) => {
      const nodes = [await rollouts(s), await rollouts(s), await rollouts(s)];
      const results = await Promise.all(nodes.map((n) => n.reconcile([{ routeId: "new", percent: 15 }], "file")));
      expect(results.flat()).toEqual(["new"]);
      expect((await nodes[0]?.audit({ limit: 10 }))?.map((e) => e.action)).toEqual(["route_added"]);
    }),
  );
});

type AuditLike = { oldValue: unknown; newValue: unknown };

describe("PostgreSQL migrations", () => {
  it("apply once when many nodes start together", async () => {
    const url = await postgres.createDatabase(`m_${randomUUID().replace(/-/g, "")}`);
    const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: url, max: 2 }));
    try {
      await Promise.all(pools.map((p) => migratePostgres(p)));
      const { rows } = await (pools[0] as pg.Pool).query<{ n: string }>("SELECT count(*) AS n FROM schema_migrations");
      expect(Number(rows[0]?.n)).toBe(POSTGRES_MIGRATIONS.length);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});
