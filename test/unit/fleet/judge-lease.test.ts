import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { holdJudgeLease, JUDGE_LEASE, type JudgeLease } from "../../../src/fleet/judge-lease.ts";
import { openStores, type Stores } from "../../../src/store/open-stores.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";
import { eventually } from "../../helpers/wait.ts";

/** The judge's lease on a real SQLite file shared by several "nodes" (each its own connection, as workers have). */
describe("the judge's lease", () => {
  const temp = makeTempDir();
  const opened: Stores[] = [];
  const leases: JudgeLease[] = [];
  const logger = pino({ level: "silent" });
  afterEach(async () => {
    await Promise.all(leases.splice(0).map((l) => l.stop()));
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  const node = async (nodeId: string, ttlMs: number, onGained?: () => void) => {
    const stores = await openStores({ dataDir: temp.dir });
    opened.push(stores);
    const lease = holdJudgeLease({ store: stores.fleet, nodeId, ttlMs: () => ttlMs, logger, ...(onGained ? { onGained } : {}) });
    leases.push(lease);
    return { stores, lease };
  };

  it("gives exactly one of three nodes the judge's seat, and tells it once", async () => {
    const gained: string[] = [];
    const nodes = await Promise.all(["a", "b", "c"].map((id) => node(id, 300, () => gained.push(id))));
    expect(await eventually(() => nodes.some((n) => n.lease.isJudge()))).toBe(true);
    // Several renewals later, still one judge, never handed around.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(nodes.filter((n) => n.lease.isJudge())).toHaveLength(1);
    expect(gained).toHaveLength(1);
    const holder = await nodes[0]?.stores.fleet.lease(JUDGE_LEASE);
    expect(holder?.holder).toBe(gained[0]);
  });

  it("hands the seat on within the lease's time when the judge stops renewing, and at once when it leaves cleanly", async () => {
    const a = await node("a", 300);
    expect(await eventually(() => a.lease.isJudge())).toBe(true);
    const b = await node("b", 300);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(b.lease.isJudge()).toBe(false);
    // a leaves cleanly: it gives the lease up, and b takes it at its next try (every 100 ms).
    const left = Date.now();
    await a.lease.stop();
    expect(a.lease.isJudge()).toBe(false);
    expect(await eventually(() => b.lease.isJudge())).toBe(true);
    expect(Date.now() - left).toBeLessThan(300);
    // b's process "dies" (its connection closes, it renews no more): c takes over once the lease expires.
    const c = await node("c", 300);
    const died = Date.now();
    opened.splice(opened.indexOf(b.stores), 1);
    await b.stores.close();
    expect(await eventually(() => c.lease.isJudge())).toBe(true);
    const took = Date.now() - died;
    expect(took).toBeLessThan(2 * 300);
    // b stops believing it judges by its own clock, without reaching the store.
    expect(await eventually(() => !b.lease.isJudge())).toBe(true);
  });
});
