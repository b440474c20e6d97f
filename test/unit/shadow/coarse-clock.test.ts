import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { coarseNowMs } from "../../../src/shadow/coarse-clock.ts";

describe("the coarse clock (minute buckets)", () => {
  it("reads the wall clock to within its second (a wide margin for a loaded machine), and moves with it", async () => {
    const first = coarseNowMs();
    expect(Math.abs(Date.now() - first)).toBeLessThanOrEqual(3_000);
    await sleep(2_100);
    const later = coarseNowMs();
    expect(later - first).toBeGreaterThanOrEqual(1_000);
    expect(Math.abs(Date.now() - later)).toBeLessThanOrEqual(3_000);
  });
});
