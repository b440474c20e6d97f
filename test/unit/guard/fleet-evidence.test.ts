import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/guard/clock.ts";
import { FleetEvidence } from "../../../src/guard/fleet-evidence.ts";
import type { EvidenceStore } from "../../../src/store/evidence-store.ts";
import { tempSqliteStores } from "../../helpers/stores.ts";

/** FleetEvidence on a real SQLite file: what nodes record is summed in the store and read back by the guards. */
describe("FleetEvidence", () => {
  const temp = tempSqliteStores();
  const open = () => temp.open();
  afterEach(() => temp.closeAll());
  const logger = pino({ level: "silent" });

  it("sums what happened since a time, per side, with a p99 estimate, from the start of the bucket holding it", async () => {
    const stores = await open();
    const clock = new ManualClock(1_000_000);
    const evidence = new FleetEvidence({ store: stores.evidence, nodeId: "a", clock, logger, bucketMs: 1_000 });
    evidence.request("r", "target", true, 40);
    clock.advance(5_000);
    for (let i = 0; i < 99; i++) evidence.request("r", "target", false, 8);
    evidence.request("r", "legacy", false, 3);
    evidence.shadow("r", "diverge");
    evidence.shadow("r", "match");
    evidence.shadow("r", "error");
    evidence.fallback("r");
    expect(await evidence.summary("r", 1_000_000)).toMatchObject({
      fromMs: 1_000_000,
      toMs: 1_005_000,
      target: { requests: 100, errors: 1, p99Ms: 10, p50Ms: 10 },
      legacy: { requests: 1, errors: 0 },
      shadow: { compared: 2, diverged: 1, errors: 1 },
      fallbacks: 1,
    });
    expect((await evidence.summary("r", 1_004_000)).target).toMatchObject({ requests: 99, errors: 0 });
    // 1 004 500 lies in the bucket that starts at 1 004 000: the bucket is counted whole, and said so.
    expect(await evidence.summary("r", 1_004_500)).toMatchObject({ fromMs: 1_004_000, target: { requests: 99 } });
    expect((await evidence.summary("other", 0)).target.requests).toBe(0);
  });

  it("judges the sum over every node of the store, each delta counted once however often it flushes", async () => {
    const stores = await open();
    const clock = new ManualClock(2_000_000);
    const nodes = ["a", "b", "c"].map((nodeId) => new FleetEvidence({ store: stores.evidence, nodeId, clock, logger }));
    for (const [i, node] of nodes.entries()) {
      for (let k = 0; k < 10 * (i + 1); k++) node.request("r", "target", k % 2 === 0, 5);
      await node.flush();
      await node.flush();
    }
    const summary = await (nodes[0] as FleetEvidence).summary("r", clock.now() - 60_000);
    expect(summary.target).toMatchObject({ requests: 60, errors: 30 });
  });

  it("keeps the deltas of a failed write for the next one, and drops only those older than maxPendingMs", async () => {
    const stores = await open();
    let down = true;
    // The real store behind a switch: the write fails as a network database's would while it is down.
    const store: EvidenceStore = {
      foldedByJudge: stores.evidence.foldedByJudge,
      summaries: (...args) => stores.evidence.summaries(...args),
      histories: (...args) => stores.evidence.histories(...args),
      add: (nodeId, counts) => (down ? Promise.reject(new Error("connection refused")) : stores.evidence.add(nodeId, counts)),
      summary: (...args) => stores.evidence.summary(...args),
      prune: (before) => stores.evidence.prune(before),
      history: (...args) => stores.evidence.history(...args),
      pruneHistory: (before) => stores.evidence.pruneHistory(before),
    };
    const clock = new ManualClock(3_000_000);
    const evidence = new FleetEvidence({ store, nodeId: "a", clock, logger, bucketMs: 1_000, maxPendingMs: 10_000 });
    evidence.request("r", "legacy", false, 1);
    await evidence.flush();
    clock.advance(20_000);
    evidence.request("r", "legacy", true, 1);
    evidence.request("r", "legacy", false, 1);
    await evidence.flush(); // fails: the first request is now past maxPendingMs and is dropped
    evidence.request("r", "legacy", false, 1);
    down = false;
    await evidence.flush();
    expect(evidence.dropped).toBe(1);
    expect((await stores.evidence.summary("r", 0, clock.now() + 1)).legacy).toMatchObject({ requests: 3, errors: 1 });
    expect((await evidence.summary("r", 0)).legacy).toMatchObject({ requests: 3, errors: 1 });
  });

  it("start() flushes on its timer and once more on stop", async () => {
    const stores = await open();
    const evidence = new FleetEvidence({ store: stores.evidence, nodeId: "a", clock: new ManualClock(4_000_000), logger });
    const stop = evidence.start(20);
    evidence.fallback("r");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await stores.evidence.summary("r", 0, 5_000_000)).fallbacks).toBe(1);
    evidence.fallback("r");
    await stop();
    expect((await stores.evidence.summary("r", 0, 5_000_000)).fallbacks).toBe(2);
  });
});
