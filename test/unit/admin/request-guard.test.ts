import { describe, expect, it } from "vitest";
import { isAllowedHost } from "../../../src/admin/request-guard.ts";

describe("which Host names the admin listener answers to", () => {
  const loopback = { bindHost: "127.0.0.1", allowedHosts: () => ["proxy-1.internal", "ops.example:8443"] };
  it.each([
    ["127.0.0.1:9901", true],
    ["localhost:9901", true],
    ["LOCALHOST", true],
    ["127.1.2.3", true],
    ["[::1]:9901", true],
    ["proxy-1.internal", true],
    ["proxy-1.internal:9901", true],
    ["ops.example:8443", true],
    ["ops.example:9901", false], // an entry with a port matches that port only
    ["attacker.example:9901", false],
    ["127.0.0.1.attacker.example", false],
    ["localhost.attacker.example", false],
    ["", false],
    [undefined, false],
  ])("%s → %s", (host, allowed) => {
    expect(isAllowedHost(host, loopback)).toBe(allowed);
  });

  it("its bind address counts, but a wildcard bind names no host", () => {
    expect(isAllowedHost("10.0.0.5:9901", { bindHost: "10.0.0.5", allowedHosts: () => [] })).toBe(true);
    expect(isAllowedHost("0.0.0.0:9901", { bindHost: "0.0.0.0", allowedHosts: () => [] })).toBe(false);
    expect(isAllowedHost("10.0.0.5:9901", { bindHost: "0.0.0.0", allowedHosts: () => [] })).toBe(false);
  });
});
