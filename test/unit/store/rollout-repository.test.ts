import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { validateConfig } from "../../../src/config/validate.ts";
import { openDatabase } from "../../../src/store/database.ts";
import { MIGRATIONS } from "../../../src/store/migrations.ts";
import { createRolloutRepository } from "../../../src/store/rollout-repository.ts";
import { databaseUrlProblem } from "../../../src/store/open-stores.ts";
import { tempRolloutService } from "../../helpers/rollout-store.ts";

const routes = (percents: Record<string, number>) =>
  validateConfig(
    {
      backends: { legacy: { url: "http://127.0.0.1:1" }, svc: { url: "http://127.0.0.1:2" } },
      routes: Object.entries(percents).map(([id, percent]) => ({ id, match: { path: `/${id}` }, target: "svc", rollout: { percent } })),
    },
    "test",
  ).routes;

describe("rollout state: the config-vs-admin rule", () => {
  let store: Awaited<ReturnType<typeof tempRolloutService>>;
  beforeEach(async () => {
    store = await tempRolloutService();
  });
  afterEach(() => store.close());

  it("a new route takes the file's value, audited as source config", async () => {
    await store.rollouts.reconcile(routes({ a: 10 }));
    expect(store.rollouts.state.record("a")).toMatchObject({ percent: 10, configPercent: 10, source: "config", salt: "" });
    expect(await store.rollouts.store.audit({ limit: 10 })).toMatchObject([{ action: "route_added", routeId: "a", source: "config", newValue: { percent: 10 } }]);
  });

  it("an admin change overrides the file until the file's value for that route changes, which then wins", async () => {
    await store.rollouts.reconcile(routes({ a: 10, b: 5 }));
    await store.rollouts.setPercent("a", 30, "alice", "looks good");
    await store.rollouts.reconcile(routes({ a: 10, b: 5 })); // same file: the admin value stays
    expect(store.rollouts.state.record("a")).toMatchObject({ percent: 30, configPercent: 10, source: "admin", changedBy: "alice" });
    await store.rollouts.reconcile(routes({ a: 40, b: 5 })); // the file changed: it wins
    expect(store.rollouts.state.record("a")).toMatchObject({ percent: 40, configPercent: 40, source: "config" });
    expect(store.rollouts.state.record("b")).toMatchObject({ percent: 5, source: "config" });
    const [latest] = await store.rollouts.store.audit({ limit: 1 });
    expect(latest).toMatchObject({ action: "config_change", source: "config", routeId: "a", oldValue: { percent: 30 }, newValue: { percent: 40 } });
  });

  it("every change is audited with who, when, old, new and why; unknown routes change nothing", async () => {
    await store.rollouts.reconcile(routes({ a: 0 }));
    const result = await store.rollouts.setPercent("a", 12.5, "bob", "first cohort");
    expect(result).toMatchObject({ ok: true, before: { percent: 0 }, after: { percent: 12.5 } });
    expect(await store.rollouts.rollback("a", "bob", "errors")).toMatchObject({ ok: true, after: { percent: 0 } });
    expect(await store.rollouts.setPercent("nope", 5, "bob", "x")).toEqual({ ok: false, reason: "unknown_route" });
    const entries = await store.rollouts.store.audit({ limit: 10 });
    expect(entries.map((e) => e.action)).toEqual(["rollback", "set_percent", "route_added"]);
    expect(entries[0]).toMatchObject({ actor: "bob", reason: "errors", oldValue: { percent: 12.5 }, newValue: { percent: 0 }, at: expect.any(String) });
  });

  it("state survives closing and reopening the database, and migrations run once", async () => {
    await store.rollouts.reconcile(routes({ a: 0 }));
    await store.rollouts.setPercent("a", 7, "carol", "persist me");
    const again = openDatabase(store.dataDir);
    try {
      expect(createRolloutRepository(again).get("a")).toMatchObject({ percent: 7, changedBy: "carol" });
      expect(again.prepare("SELECT count(*) AS n FROM schema_migrations").get()).toEqual({ n: MIGRATIONS.length });
    } finally {
      again.close();
    }
  });

  it("a second connection (another process) sees a change through the poll", async () => {
    await store.rollouts.reconcile(routes({ a: 0 }));
    const other = openDatabase(store.dataDir);
    try {
      createRolloutRepository(other).change({ routeId: "a", percent: 55, actor: "other", reason: "from elsewhere", source: "admin", action: "set_percent" });
      const deadline = Date.now() + 2_000;
      while (store.rollouts.state.get("a")?.percent !== 55 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(store.rollouts.state.get("a")?.percent).toBe(55);
    } finally {
      other.close();
    }
  });
});

describe("DATABASE_URL", () => {
  it("takes postgres:// and postgresql:// URLs and names anything else, without echoing a password", () => {
    expect(databaseUrlProblem("postgres://u:p@db:5432/strangler")).toBeUndefined();
    expect(databaseUrlProblem("postgresql://db/strangler")).toBeUndefined();
    expect(databaseUrlProblem("mysql://db/strangler")).toBe("DATABASE_URL must be a postgres:// or postgresql:// URL, got mysql://…");
    expect(databaseUrlProblem("not a url")).toBe('DATABASE_URL must be a postgres:// URL, got "not a url"');
    expect(databaseUrlProblem("db:secret@host")).not.toContain("secret");
  });
});
