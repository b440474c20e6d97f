import { describe, expect, it } from "vitest";
import { mergedExchanges } from "../../../src/replay/merged-exchanges.ts";
import type { RecordedExchange } from "../../../src/store/recording-store.ts";

describe("several recordings' exchanges, merged by time", () => {
  it("yields them in time order (then id) across recordings, a page at a time from each", async () => {
    const rows = new Map<number, RecordedExchange[]>([
      [1, [5, 10, 10, 30, 31, 32].map((at, i) => ({ id: 100 + i, recordingId: 1, at }) as RecordedExchange)],
      [2, [1, 10, 40].map((at, i) => ({ id: 10 + i, recordingId: 2, at }) as RecordedExchange)],
      [3, []],
    ]);
    const reads: Array<[number, number]> = [];
    const read = async (recordingId: number, after: number, limit: number) => {
      reads.push([recordingId, after]);
      return (rows.get(recordingId) ?? []).filter((e) => e.id > after).slice(0, limit);
    };
    const merged: Array<[number, number]> = [];
    for await (const e of mergedExchanges(read, [1, 2, 3], 2)) merged.push([e.at, e.id]);
    expect(merged).toEqual([[1, 10], [5, 100], [10, 11], [10, 101], [10, 102], [30, 103], [31, 104], [32, 105], [40, 12]]);
    // Pages of 2: recording 1 read four times (the last one empty), recording 3 once.
    expect(reads.filter(([r]) => r === 1).map(([, after]) => after)).toEqual([0, 101, 103, 105]);
    expect(reads.filter(([r]) => r === 3)).toHaveLength(1);
  });
});
