import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/guard/clock.ts";
import { CircuitBreaker, type CircuitState } from "../../../src/proxy/circuit-breaker.ts";

const settings = { failures: 3, cooldownMs: 1_000 };

describe("a backend's circuit breaker", () => {
  it("starts closed and lets any number of requests through at once", () => {
    const breaker = new CircuitBreaker(settings, new ManualClock());
    expect(breaker.state).toBe("closed");
    expect([breaker.allow(), breaker.allow(), breaker.allow()]).toEqual([true, true, true]);
  });

  it("opens after `failures` failures in a row, not before, and a success between resets the count", () => {
    const breaker = new CircuitBreaker(settings, new ManualClock());
    breaker.failure();
    breaker.failure();
    breaker.success();
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe("closed");
    breaker.failure();
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBe(false);
  });

  it("after the cool-down lets exactly one probe through; its success closes, its failure reopens for another cool-down", () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker(settings, clock);
    for (let i = 0; i < 3; i++) breaker.failure();
    clock.advance(999);
    expect(breaker.allow()).toBe(false);
    clock.advance(1);
    expect(breaker.allow()).toBe(true);
    expect(breaker.state).toBe("half_open");
    expect(breaker.allow()).toBe(false); // one probe at a time
    breaker.failure();
    expect(breaker.state).toBe("open");
    clock.advance(999);
    expect(breaker.allow()).toBe(false);
    clock.advance(1);
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe("closed");
    expect([breaker.allow(), breaker.allow()]).toEqual([true, true]);
  });

  it("announces transitions only, once each", () => {
    const clock = new ManualClock();
    const seen: CircuitState[] = [];
    const breaker = new CircuitBreaker(settings, clock, (state) => seen.push(state));
    breaker.success();
    for (let i = 0; i < 5; i++) breaker.failure();
    clock.advance(1_000);
    breaker.allow();
    breaker.success();
    breaker.success();
    expect(seen).toEqual(["open", "half_open", "closed"]);
  });
});
