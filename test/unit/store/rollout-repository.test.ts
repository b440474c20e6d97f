import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { validateConfig } from "../../../src/config/validate.ts";
import { openDatabase } from "../../../src/store/database.ts";
import { MIGRATIONS } from "../../../src/store/migrations.ts";
import { createRolloutRepository } from "../../../src/store/rollout-repository.ts";
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
  let store: ReturnType<typeof tempRolloutService>;
  beforeEach(() => {
    store = tempRolloutService();
  });
  afterEach(() => store.close());

  it("a new route takes the file's value, audited as source config", () => {
    store.rollouts.reconcile(routes({ a: 10 }));
    expect(store.rollouts.repository.get("a")).toMatchObject({ percent: 10, configPercent: 10, source: "config", salt: "" });
    expect(store.rollouts.repository.audit({ limit: 10 })).toMatchObject([{ action: "route_added", routeId: "a", source: "config", newValue: { percent: 10 } }]);
  });

  it("an admin change overrides the file until the file's value for that route changes, which then wins", () => {
    store.rollouts.reconcile(routes({ a: 10, b: 5 }));
    store.rollouts.setPercent("a", 30, "alice", "looks good");
    store.rollouts.reconcile(routes({ a: 10, b: 5 })); // same file: the admin value stays
    expect(store.rollouts.repository.get("a")).toMatchObject({ percent: 30, configPercent: 10, source: "admin", changedBy: "alice" });
    store.rollouts.reconcile(routes({ a: 40, b: 5 })); // the file changed: it wins
    expect(store.rollouts.repository.get("a")).toMatchObject({ percent: 40, configPercent: 40, source: "config" });
    expect(store.rollouts.repository.get("b")).toMatchObject({ percent: 5, source: "config" });
    const [latest] = store.rollouts.repository.audit({ limit: 1 });
    expect(latest).toMatchObject({ action: "config_change", source: "config", routeId: "a", oldValue: { percent: 30 }, newValue: { percent: 40 } });
  });

  it("every change is audited with who, when, old, new and why; unknown routes change nothing", () => {
    store.rollouts.reconcile(routes({ a: 0 }));
    const result = store.rollouts.setPercent("a", 12.5, "bob", "first cohort");
    expect(result).toMatchObject({ ok: true, before: { percent: 0 }, after: { percent: 12.5 } });
    expect(store.rollouts.rollback("a", "bob", "errors")).toMatchObject({ ok: true, after: { percent: 0 } });
    expect(store.rollouts.setPercent("nope", 5, "bob", "x")).toEqual({ ok: false, reason: "unknown_route" });
    const entries = store.rollouts.repository.audit({ limit: 10 });
    expect(entries.map((e) => e.action)).toEqual(["rollback", "set_percent", "route_added"]);
    expect(entries[0]).toMatchObject({ actor: "bob", reason: "errors", oldValue: { percent: 12.5 }, newValue: { percent: 0 }, at: expect.any(String) });
  });

  it("state survives closing and reopening the database, and migrations run once", () => {
    store.rollouts.reconcile(routes({ a: 0 }));
    store.rollouts.setPercent("a", 7, "carol", "persist me");
    const again = openDatabase(store.dataDir);
    try {
      expect(createRolloutRepository(again).get("a")).toMatchObject({ percent: 7, changedBy: "carol" });
      expect(again.prepare("SELECT count(*) AS n FROM schema_migrations").get()).toEqual({ n: MIGRATIONS.length });
    } finally {
      again.close();
    }
  });

  it("a second connection (another process) sees a change through the poll", async () => {
    store.rollouts.reconcile(routes({ a: 0 }));
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
