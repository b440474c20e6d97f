import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { storeKinds, withStore } from "../helpers/stores.ts";

/** The migration store's contract, on SQLite and on PostgreSQL: above all, no promotion step twice. */
let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

const audit = (reason: string) => ({ actor: "promotion", action: "promote", routeId: "r", oldValue: null, newValue: null, reason, source: "guard" });

describe.each(storeKinds(() => postgres))("the migration store on %s", (_kind, open) => {
  it(
    "creates a route's row once, whoever asks first, and never overwrites it",
    withStore(open, async (s) => {
      const [one, two] = [await s.node(), await s.node()];
      const [a, b] = await Promise.all([one.migrations.ensure("r", "shadowing", "node-1"), two.migrations.ensure("r", "legacy", "node-2")]);
      expect(a).toEqual(b);
      expect(a).toMatchObject({ routeId: "r", stateReason: "route added", promotion: "off", stepIndex: null, stepStartedAt: null, lastVerdict: null });
      await one.migrations.change("r", { state: "canary", actor: "alice", reason: "go" }, audit("go"));
      expect(await two.migrations.ensure("r", "legacy", "node-2")).toMatchObject({ state: "canary" });
      expect(await one.migrations.get("nope")).toBeUndefined();
    }),
  );

  it(
    "reads every route's row at once, as get reads each (the judge's tick)",
    withStore(open, async (s) => {
      const [one, two] = [await s.node(), await s.node()];
      expect(await one.migrations.all()).toEqual([]);
      await one.migrations.ensure("b", "shadowing", "file");
      await two.migrations.ensure("a", "legacy", "file");
      await two.migrations.change("a", { state: "halted", promotion: "paused", stepIndex: 1, stepStartedAt: 5_000, actor: "guard", reason: "trip" }, audit("trip"));
      expect(await one.migrations.all()).toEqual([await one.migrations.get("a"), await one.migrations.get("b")]);
      expect((await one.migrations.all()).map((r) => [r.routeId, r.state, r.stepStartedAt])).toEqual([["a", "halted", 5_000], ["b", "shadowing", null]]);
    }),
  );

  it(
    "moves since/by/reason only when the state changes, and audits every change in the same transaction",
    withStore(open, async (s) => {
      const { migrations, rollouts } = await s.node();
      expect(await migrations.ensure("r", "shadowing", "file")).toMatchObject({ stateBy: "file" });
      const canary = await migrations.change("r", { state: "canary", promotion: "running", stepIndex: 0, stepStartedAt: 1_000, actor: "alice", reason: "start" }, audit("start"));
      expect(canary).toMatchObject({ state: "canary", stateBy: "alice", stateReason: "start", promotion: "running", stepIndex: 0, stepStartedAt: 1_000 });
      const stepped = await migrations.change("r", { stepIndex: 1, stepStartedAt: 2_000, actor: "promotion", reason: "step 2" }, audit("step 2"));
      expect(stepped).toMatchObject({ state: "canary", stateBy: "alice", stateReason: "start", stateSince: canary?.stateSince, stepIndex: 1, stepStartedAt: 2_000 });
      // Clearing the step is a change too (null is not "leave as it was").
      expect(await migrations.change("r", { stepIndex: null, stepStartedAt: null, promotion: "done", actor: "promotion", reason: "done" }, audit("done"))).toMatchObject({ stepIndex: null, stepStartedAt: null, promotion: "done" });
      expect((await rollouts.audit({ limit: 10 })).map((e) => e.reason)).toEqual(["done", "step 2", "start"]);
      expect(await migrations.change("nope", { state: "halted", actor: "x", reason: "x" }, audit("x"))).toBeUndefined();
    }),
  );

  it(
    "compare-and-set: of many nodes taking the same step at once, exactly one does, and one audit entry says so",
    withStore(open, async (s) => {
      const nodes = await Promise.all(Array.from({ length: 5 }, () => s.node()));
      await nodes[0]?.migrations.ensure("r", "canary", "file");
      await nodes[0]?.migrations.change("r", { promotion: "running", stepIndex: 0, stepStartedAt: 1_000, actor: "x", reason: "start" }, audit("start"));
      const seen = { stepIndex: 0, stepStartedAt: 1_000 };
      const results = await Promise.all(nodes.map((n, i) => n.migrations.change("r", { stepIndex: 1, stepStartedAt: 2_000 + i, actor: `node-${i}`, reason: "step 2" }, audit(`step 2 by node-${i}`), seen)));
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      const entries = await nodes[0]?.rollouts.audit({ limit: 10 });
      expect(entries?.filter((e) => e.reason.startsWith("step 2"))).toHaveLength(1);
      // And a judge that still thinks step 1 is current changes nothing.
      expect(await nodes[1]?.migrations.change("r", { stepIndex: 2, stepStartedAt: 3_000, actor: "late", reason: "step 3" }, audit("step 3"), seen)).toBeUndefined();
    }),
  );

  it(
    "keeps the last verdict as JSON, and lists the retired routes",
    withStore(open, async (s) => {
      const { migrations } = await s.node();
      for (const id of ["b", "a", "c"]) await migrations.ensure(id, "migrated", "file");
      await migrations.setVerdicts([
        { routeId: "a", verdict: { guard: { verdict: "ok" }, at: 5 } },
        { routeId: "c", verdict: { promotion: { verdict: "waiting" }, at: 5 } },
      ]);
      expect((await migrations.get("a"))?.lastVerdict).toEqual({ guard: { verdict: "ok" }, at: 5 });
      expect((await migrations.get("c"))?.lastVerdict).toEqual({ promotion: { verdict: "waiting" }, at: 5 });
      expect((await migrations.get("b"))?.lastVerdict).toBeNull();
      for (const id of ["c", "a"]) await migrations.change(id, { state: "retired", actor: "ops", reason: "done" }, { ...audit("retire"), routeId: id });
      expect(await migrations.retired()).toEqual(["a", "c"]);
    }),
  );
});
