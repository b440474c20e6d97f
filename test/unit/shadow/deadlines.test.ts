import { describe, expect, it } from "vitest";
import { Deadlines } from "../../../src/shadow/deadlines.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Item {
  expired = 0;
  expire(): void {
    this.expired++;
  }
}

describe("Deadlines", () => {
  it("expires what is past its time, once, and leaves the rest", async () => {
    const deadlines = new Deadlines<Item>(10);
    const due = new Item();
    const later = new Item();
    deadlines.add(due, performance.now() + 20);
    deadlines.add(later, performance.now() + 60_000);
    await sleep(150);
    expect(due.expired).toBe(1);
    expect(later.expired).toBe(0);
    expect(deadlines.size).toBe(1);
    deadlines.close();
  });

  it("never expires what was deleted in time", async () => {
    const deadlines = new Deadlines<Item>(10);
    const item = new Item();
    const entry = deadlines.add(item, performance.now() + 20);
    deadlines.delete(entry);
    await sleep(100);
    expect(item.expired).toBe(0);
    expect(deadlines.size).toBe(0);
  });

  it("stops its timer when it holds nothing, and starts it again for the next entry", async () => {
    const deadlines = new Deadlines<Item>(10);
    const first = new Item();
    deadlines.add(first, performance.now());
    await sleep(100);
    expect(first.expired).toBe(1);
    const second = new Item();
    deadlines.add(second, performance.now());
    await sleep(100);
    expect(second.expired).toBe(1);
    expect(deadlines.size).toBe(0);
  });

  it("lets an expiring item delete itself (as a session ending does)", async () => {
    const deadlines = new Deadlines<{ expire(): void }>(10);
    let calls = 0;
    const item = {
      expire() {
        calls++;
        deadlines.delete(entry);
      },
    };
    const entry = deadlines.add(item, performance.now());
    await sleep(100);
    expect(calls).toBe(1);
  });

  it("takes out any entry, first, middle or last, once; the sweep expires the due ones wherever they are", async () => {
    const deadlines = new Deadlines<Item>(10);
    const now = performance.now();
    const items = Array.from({ length: 6 }, () => new Item());
    // Due and not due interleaved: the list is in the order added, not by deadline.
    const entries = items.map((item, i) => deadlines.add(item, i % 2 === 0 ? now : now + 60_000));
    deadlines.delete(entries[0]!);
    deadlines.delete(entries[3]!);
    deadlines.delete(entries[5]!);
    deadlines.delete(entries[3]!); // again: nothing happens
    expect(deadlines.size).toBe(3);
    await sleep(100);
    expect(items.map((item) => item.expired)).toEqual([0, 0, 1, 0, 1, 0]);
    expect(deadlines.size).toBe(1); // items[1], not due
    deadlines.delete(entries[1]!);
    expect(deadlines.size).toBe(0);
    const again = new Item();
    deadlines.add(again, performance.now());
    await sleep(100);
    expect(again.expired).toBe(1);
    deadlines.close();
  });
});
