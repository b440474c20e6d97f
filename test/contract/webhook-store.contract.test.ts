import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { storeKinds, withStore } from "../helpers/stores.ts";

/** The webhooks' place in the audit log, on SQLite (the processes of one host) and PostgreSQL (a fleet). */
let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

const entry = (n: number) => ({ actor: "alice", action: "set_percent", routeId: "r", oldValue: { percent: n - 1 }, newValue: { percent: n }, reason: `step ${n}`, source: "admin" });

describe.each(storeKinds(() => postgres))("the webhook store and the audit log it follows, on %s", (_kind, open) => {
  it(
    "reads the audit log after an id, oldest first, and names its head",
    withStore(open, async (s) => {
      const node = await s.node();
      expect(await node.rollouts.auditHead()).toBe(0);
      for (let n = 1; n <= 5; n++) await node.rollouts.appendAudit(entry(n));
      const head = await node.rollouts.auditHead();
      const all = await node.rollouts.auditAfter(0, 100);
      expect(all.map((e) => e.reason)).toEqual(["step 1", "step 2", "step 3", "step 4", "step 5"]);
      expect(all.at(-1)?.id).toBe(head);
      const page = await node.rollouts.auditAfter((all[1] as { id: number }).id, 2);
      expect(page.map((e) => e.reason)).toEqual(["step 3", "step 4"]);
      expect(page[0]).toMatchObject({ actor: "alice", action: "set_percent", routeId: "r", newValue: { percent: 3 } });
      expect(await node.rollouts.auditAfter(head, 10)).toEqual([]);
    }),
  );

  it(
    "makes a webhook's state once, at the place given first, and every node reads the same",
    withStore(open, async (s) => {
      const [a, b] = [await s.node(), await s.node()];
      const made = await a.webhooks.ensure("slack", 41);
      expect(made).toEqual({ name: "slack", lastId: 41, attempts: 0, nextAttemptAt: null, delivered: 0, failed: 0, skipped: 0, lastStatus: null, lastError: null, lastAttemptAt: null, lastDeliveredAt: null });
      expect(await b.webhooks.ensure("slack", 99)).toEqual(made);
      await a.webhooks.ensure("audit-sink", 0);
      expect((await b.webhooks.states()).map((w) => w.name)).toEqual(["audit-sink", "slack"]);
    }),
  );

  it(
    "moves a webhook on only from the place it was read at: a second deliverer's stale write is refused",
    withStore(open, async (s) => {
      const [a, b] = [await s.node(), await s.node()];
      const start = await a.webhooks.ensure("hook", 10);
      const at = Date.parse("2026-12-07T10:00:00Z");
      const delivered = { ...start, lastId: 11, delivered: 1, lastStatus: 200, lastAttemptAt: at, lastDeliveredAt: at };
      expect(await a.webhooks.save(delivered, 10)).toBe(true);
      // b read the state before a delivered: its write (the same entry again) is refused.
      expect(await b.webhooks.save({ ...start, lastId: 11, delivered: 1 }, 10)).toBe(false);
      const failing = { ...delivered, attempts: 2, nextAttemptAt: at + 4_000, lastStatus: null, lastError: "connect ECONNREFUSED" };
      expect(await b.webhooks.save(failing, 11)).toBe(true);
      expect((await a.webhooks.states())[0]).toEqual(failing);
    }),
  );
});
