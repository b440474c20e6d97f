import { afterEach, describe, expect, it } from "vitest";
import { backendSchema } from "../../../src/config/schema.ts";
import { ManualClock } from "../../../src/guard/clock.ts";
import { DestinationSet } from "../../../src/proxy/destination-set.ts";
import type { Lookup } from "../../../src/proxy/dns-refresh.ts";
import { preferredAddresses } from "../../../src/proxy/dns-refresh.ts";

const sets: DestinationSet[] = [];
afterEach(async () => {
  await Promise.all(sets.splice(0).map((s) => s.close(true)));
});

const events: string[] = [];
const observer = {
  circuitChanged: (b: string, d: string, s: string) => void events.push(`${b} ${d} ${s}`),
  healthChanged: (b: string, d: string, healthy: boolean) => void events.push(`${b} ${d} ${healthy ? "healthy" : "unhealthy"}`),
  destinationsChanged: (b: string, added: readonly string[], removed: readonly string[]) => void events.push(`${b} +${added.join(",")} -${removed.join(",")}`),
  resolutionChanged: (b: string, hostname: string, error: string | undefined) => void events.push(`${b} ${hostname} ${error ?? "resolves"}`),
};
const noLookup: Lookup = () => Promise.reject(new Error("no lookups here"));

function setOf(config: Record<string, unknown>, clock = new ManualClock(), lookup = noLookup): DestinationSet {
  const set = new DestinationSet("svc", backendSchema.parse(config), { clock, lookup, observer });
  sets.push(set);
  return set;
}

const THREE = { urls: ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"] };

describe("picking a destination: the fewer in flight of two at random", () => {
  it("never picks the busiest of three (it loses every draw it is in), and picks the idle one most", () => {
    const set = setOf(THREE);
    const [a, b, c] = set.destinations;
    a!.load.inFlight = 5;
    b!.load.inFlight = 1;
    c!.load.inFlight = 0;
    const picks = new Map<string, number>();
    for (let i = 0; i < 3_000; i++) {
      const d = set.pick()!;
      picks.set(d.origin, (picks.get(d.origin) ?? 0) + 1);
    }
    expect(picks.get(a!.origin)).toBeUndefined();
    // c wins the draws with a and with b (2 of 3 pairs), b the draw with a: about 2,000 and 1,000.
    expect(picks.get(c!.origin)).toBeGreaterThan(1_700);
    expect(picks.get(b!.origin)).toBeGreaterThan(700);
  });

  it("skips an unhealthy destination and an ejected one, and a retry's excluded one", () => {
    const set = setOf(THREE);
    const [a, b, c] = set.destinations;
    a!.healthy = false;
    for (let i = 0; i < 5; i++) b!.breaker.failure(); // opens
    for (let i = 0; i < 50; i++) expect(set.pick()).toBe(c);
    expect(set.pick(c)).toBe(a); // no healthy one left but c (b is ejected): fail open takes the unhealthy a
    b!.breaker.success();
    expect(set.pick(c)).toBe(b);
    a!.breaker.failure();
    for (let i = 0; i < 5; i++) a!.breaker.failure();
    for (let i = 0; i < 5; i++) b!.breaker.failure();
    expect(set.pick(c)).toBeUndefined(); // every other breaker open
  });

  it("fails open when every destination is unhealthy: all of them take traffic, and it says so", () => {
    const set = setOf({ ...THREE, healthCheck: { path: "/h" } });
    for (const d of set.destinations) d.healthy = false;
    expect(set.failingOpen).toBe(true);
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) seen.add(set.pick()!.origin);
    expect(seen.size).toBe(3);
    set.destinations[1]!.healthy = true;
    expect(set.failingOpen).toBe(false);
    for (let i = 0; i < 50; i++) expect(set.pick()).toBe(set.destinations[1]);
  });

  it("gives the one destination there is, whatever its state (its breaker decides), but never as a retry", () => {
    const set = setOf({ url: "http://127.0.0.1:1" });
    const only = set.destinations[0]!;
    only.healthy = false;
    expect(set.pick()).toBe(only);
    expect(set.pick(only)).toBeUndefined();
  });
});

describe("the retry budget", () => {
  it("allows 20% of the requests in flight, and at least 3", () => {
    const set = setOf(THREE);
    const retries = { budgetPercent: 20, minConcurrent: 3 };
    set.retriesInFlight = 2;
    expect(set.retryAllowed(retries)).toBe(true);
    set.retriesInFlight = 3;
    expect(set.retryAllowed(retries)).toBe(false);
    for (const d of set.destinations) d.load.inFlight = 10; // 30 in flight: 6 retries
    expect(set.retryAllowed(retries)).toBe(true);
    set.retriesInFlight = 6;
    expect(set.retryAllowed(retries)).toBe(false);
    expect(set.retryAllowed(false)).toBe(false);
  });
});

describe("following a host name's addresses", () => {
  it("resolves again after a connection error, at most once a second, between its intervals", async () => {
    let lookups = 0;
    const lookup: Lookup = async () => {
      lookups++;
      return [{ address: "127.0.0.2", family: 4 }];
    };
    const set = setOf({ url: "http://svc.test:8080", dnsRefreshMs: 3_600_000 }, new ManualClock(), lookup);
    set.start();
    await expect.poll(() => lookups).toBe(1);
    set.connectionFailed(); // within the second: not again
    await new Promise((r) => setTimeout(r, 50));
    expect(lookups).toBe(1);
    await new Promise((r) => setTimeout(r, 1_000));
    set.connectionFailed();
    await expect.poll(() => lookups).toBe(2);
  });

  it("prefers IPv4 addresses, and takes IPv6 ones when there are no others", () => {
    expect(preferredAddresses([{ address: "::1", family: 6 }, { address: "127.0.0.1", family: 4 }])).toEqual(["127.0.0.1"]);
    expect(preferredAddresses([{ address: "::1", family: 6 }])).toEqual(["::1"]);
  });

  it("makes each address a destination, adds new ones, drains those that left, and keeps them when a lookup fails", async () => {
    let answer: string[] | Error = ["127.0.0.2", "127.0.0.3"];
    const lookup: Lookup = async () => {
      if (answer instanceof Error) throw answer;
      return answer.map((address) => ({ address, family: 4 }));
    };
    const set = setOf({ url: "http://svc.test:8080/base", dnsRefreshMs: 100 }, new ManualClock(), lookup);
    expect(set.destinations.map((d) => d.origin)).toEqual(["http://svc.test:8080"]);
    set.start();
    const origins = () => set.destinations.map((d) => d.origin).sort();
    await expect.poll(origins).toEqual(["http://127.0.0.2:8080", "http://127.0.0.3:8080"]);
    expect(set.destinations[0]!.host).toBe("svc.test:8080"); // the Host sent is still the name's
    const kept = set.destinations.find((d) => d.address === "127.0.0.3");
    answer = ["127.0.0.3", "127.0.0.4"];
    await expect.poll(origins).toEqual(["http://127.0.0.3:8080", "http://127.0.0.4:8080"]);
    expect(set.destinations.find((d) => d.address === "127.0.0.3")).toBe(kept); // same pool, same counts
    events.length = 0;
    answer = Object.assign(new Error("queryA ESERVFAIL svc.test"), { code: "ESERVFAIL" });
    await new Promise((r) => setTimeout(r, 300));
    expect(origins()).toEqual(["http://127.0.0.3:8080", "http://127.0.0.4:8080"]);
    // Said once when it stops resolving, not at every failed lookup; and once when it resolves again.
    expect(events).toEqual(["svc svc.test ESERVFAIL"]);
    answer = ["127.0.0.3", "127.0.0.4"];
    await expect.poll(() => events).toEqual(["svc svc.test ESERVFAIL", "svc svc.test resolves"]);
  });
});
