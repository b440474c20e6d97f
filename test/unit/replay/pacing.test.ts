import { describe, expect, it } from "vitest";
import { pacingError, RateWindows, Schedule } from "../../../src/replay/pacing.ts";

describe("a replay's schedule", () => {
  it("as recorded: the recorded gaps divided by the factor, a gap over maxGapMs cut to it", () => {
    const schedule = new Schedule({ mode: "recorded", factor: 2 }, 1_000);
    // Gaps of 100 ms, 60 s (idle: clamped to 1 s), 400 ms, and one out of order (0).
    expect([10_000, 10_100, 70_100, 70_500, 70_400].map((at) => schedule.next(at))).toEqual([0, 50, 550, 750, 750]);
  });

  it("at a fixed rate: one every 1/rate seconds, whatever was recorded", () => {
    const schedule = new Schedule({ mode: "rate", perSecond: 40 }, 1_000);
    expect([5, 5, 9_000, 9_001].map((at) => schedule.next(at))).toEqual([0, 25, 50, 75]);
  });

  it("by concurrency: every one due at once, the limit within the run's bound deciding", () => {
    const schedule = new Schedule({ mode: "concurrency", limit: 64 }, 1_000);
    expect(schedule.next(1)).toBe(0);
    expect(schedule.inFlightLimit(32)).toBe(32);
    expect(new Schedule({ mode: "concurrency", limit: 4 }, 0).inFlightLimit(32)).toBe(4);
    expect(new Schedule({ mode: "rate", perSecond: 4 }, 0).inFlightLimit(32)).toBe(32);
  });

  it("names the field of a pacing that cannot be kept", () => {
    expect(pacingError({ mode: "recorded", factor: 0 })).toMatch(/^pacing.factor/);
    expect(pacingError({ mode: "rate", perSecond: Number.NaN })).toMatch(/^pacing.perSecond/);
    expect(pacingError({ mode: "concurrency", limit: 1.5 })).toMatch(/^pacing.limit/);
    expect(pacingError({ mode: "rate", perSecond: 100 })).toBeUndefined();
  });

  it("reports the rate achieved per 10 s window, the last one over the time it lasted", () => {
    const windows = new RateWindows();
    for (let ms = 0; ms < 12_500; ms += 50) windows.sent(ms);
    expect(windows.windows(12_500)).toEqual([
      { fromS: 0, sent: 200, perSecond: 20 },
      { fromS: 10, sent: 50, perSecond: 20 },
    ]);
  });
});
