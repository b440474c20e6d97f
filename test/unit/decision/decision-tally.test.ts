import { describe, expect, it } from "vitest";
import { DecisionTally } from "../../../src/decision/decision-tally.ts";
import { ManualClock } from "../../../src/guard/clock.ts";

describe("the tally of an external provider's decisions", () => {
  it("gives the target's share per route over its window, null before any decision", () => {
    const clock = new ManualClock();
    const tally = new DecisionTally(clock, 60_000);
    expect(tally.share("r")).toEqual({ targetPercent: null, decisions: 0, windowSeconds: 60 });
    for (let i = 0; i < 3; i++) tally.record("r", "target");
    for (let i = 0; i < 6; i++) tally.record("r", "legacy");
    tally.record("other", "target");
    expect(tally.share("r")).toEqual({ targetPercent: 33.33, decisions: 9, windowSeconds: 60 });
    expect(tally.share("other").targetPercent).toBe(100);
  });

  it("forgets decisions older than the window, in 10 s steps", () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 0));
    const tally = new DecisionTally(clock, 30_000);
    tally.record("r", "target");
    clock.advance(20_000);
    tally.record("r", "legacy");
    expect(tally.share("r").decisions).toBe(2);
    clock.advance(10_000); // the first decision's bucket is now three buckets old: out
    expect(tally.share("r")).toMatchObject({ targetPercent: 0, decisions: 1 });
    clock.advance(40_000);
    tally.record("r", "target");
    expect(tally.share("r")).toMatchObject({ targetPercent: 100, decisions: 1 });
    tally.forget("r");
    expect(tally.share("r").decisions).toBe(0);
  });
});
