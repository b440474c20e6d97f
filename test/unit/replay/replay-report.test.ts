import { describe, expect, it } from "vitest";
import { ReportBuilder, type ExchangeExample } from "../../../src/replay/replay-report.ts";

const example = (id: number): ExchangeExample => ({ exchangeId: id, method: "GET", path: `/orders/o_${id}`, query: "", recordedStatus: 200, candidateStatus: 200, recordedBody: "{}", candidateBody: "{}" });
const header = { run: 1, recordings: [1], routes: ["order-detail"], target: "http://127.0.0.1:1", sandbox: false, pacing: { mode: "concurrency" as const, limit: 1, windows: [] }, durationMs: 10, required: { minExchanges: 10, minPassLowerBound: 0.9 }, maxSignatures: 100 };

describe("a replay run's report", () => {
  it("passes on the Wilson lower bound of the pass rate, with failures counted against it", () => {
    const builder = new ReportBuilder();
    for (let id = 1; id <= 200; id++) builder.add({ id, latencyMs: 2 }, { kind: "compared", differences: [], correlated: 0, example: example(id) }, 3);
    builder.add({ id: 201, latencyMs: 2 }, { kind: "timeout", example: example(201) }, undefined);
    const { report, verdicts } = builder.report(header, undefined);
    expect(report.status).toBe("passed");
    expect(report.counts).toMatchObject({ matched: 200, diverged: 0, timeouts: 1 });
    expect(report.passRate).toBe(0.995);
    // 200 of 201: the lower bound is well under the rate.
    expect(report.passRateLowerBound).toBeGreaterThan(0.97);
    expect(report.passRateLowerBound).toBeLessThan(0.995);
    expect(verdicts["201"]).toBe("error");
    expect(report.latencyMs.candidate).toEqual({ count: 200, p50: 3, p95: 3, p99: 3 });
  });

  it("fails with too few exchanges, or a lower bound under the bar", () => {
    const few = new ReportBuilder();
    for (let id = 1; id <= 5; id++) few.add({ id, latencyMs: 1 }, { kind: "compared", differences: [], correlated: 0, example: example(id) }, 1);
    expect(few.report(header, undefined).report.verdict).toMatch(/^too few exchanges judged: 5 < 10/);
    const bad = new ReportBuilder();
    for (let id = 1; id <= 20; id++) bad.add({ id, latencyMs: 1 }, { kind: "compared", differences: id % 4 === 0 ? [{ path: "$.items[3].price", kind: "changed", left: "1", right: "2" }] : [], correlated: 0, example: example(id) }, 1);
    const { report } = bad.report(header, undefined);
    expect(report.status).toBe("failed");
    expect(report.signatures).toEqual([expect.objectContaining({ path: "$.items[*].price", kind: "changed", count: 5, diff: ["changed $.items[3].price: 1 → 2"] })]);
  });

  it("sets aside the run's noise, found after the differences it explains", () => {
    const builder = new ReportBuilder();
    builder.add({ id: 1, latencyMs: 1 }, { kind: "compared", differences: [{ path: "$.servedAt", kind: "changed", left: "a", right: "b" }], correlated: 0, example: example(1) }, 1);
    builder.noise(["$.servedAt"]);
    const { report, verdicts } = builder.report({ ...header, required: { minExchanges: 1, minPassLowerBound: 0 } }, undefined);
    expect(report.counts).toMatchObject({ matched: 1, diverged: 0, noiseDifferences: 1 });
    expect(verdicts).toEqual({ "1": "match" });
  });

  it("lists an exchange whose verdict changed since the last run as flaky, and does not count it", () => {
    const builder = new ReportBuilder();
    for (let id = 1; id <= 3; id++) builder.add({ id, latencyMs: 1 }, { kind: "compared", differences: id === 2 ? [{ path: "$.x", kind: "changed", left: "1", right: "2" }] : [], correlated: 0, example: example(id) }, 1);
    const { report } = builder.report({ ...header, required: { minExchanges: 1, minPassLowerBound: 0 } }, { "1": "match", "2": "match", "3": "match" });
    expect(report.counts).toMatchObject({ matched: 2, diverged: 0, flaky: 1 });
    expect(report.flaky).toEqual([{ exchangeId: 2, method: "GET", path: "/orders/o_2", previous: "match", now: "diverge" }]);
    expect(report.signatures).toEqual([]);
  });

  it("an aborted run says why, whatever it counted", () => {
    const { report } = new ReportBuilder().report({ ...header, aborted: "authentication misconfigured: 20 of the first 20" }, undefined);
    expect(report).toMatchObject({ status: "aborted", verdict: "authentication misconfigured: 20 of the first 20", passRate: null, passRateLowerBound: null });
  });

  it("holds the bodies only of the exchanges that first showed a signature, and at most a thousand of them", () => {
    const builder = new ReportBuilder();
    const withBodies = (id: number) => ({ ...example(id), recordedBody: `{"n":${id}}`, candidateBody: `{"n":"${id}"}` });
    // 1,100 distinct signatures, each shown by two exchanges.
    for (let id = 1; id <= 2_200; id++) {
      const field = Math.ceil(id / 2);
      builder.add({ id, latencyMs: 1 }, { kind: "compared", differences: [{ path: `$.f${field}`, kind: "changed", left: "1", right: "2" }], correlated: 0, example: withBodies(id) }, 1);
    }
    const { report } = builder.report({ ...header, maxSignatures: 2_000 }, undefined);
    expect(report.signatures).toHaveLength(1_100);
    const of = (path: string) => report.signatures.find((s) => s.path === path)?.example;
    // A signature's example is the first exchange that showed it, with its bodies…
    expect(of("$.f1")).toMatchObject({ exchangeId: 1, recordedBody: '{"n":1}', candidateBody: '{"n":"1"}' });
    expect(of("$.f1000")).toMatchObject({ exchangeId: 1_999, recordedBody: '{"n":1999}' });
    // …up to a thousand held; past them, the example names the exchange without its bodies.
    expect(of("$.f1001")).toMatchObject({ exchangeId: 2_001, recordedBody: "", candidateBody: "" });
  });
});
