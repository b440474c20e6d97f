import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  adminSchema,
  backendSchema,
  compareSchema,
  fallbackSchema,
  fleetSchema,
  guardSchema,
  http2Schema,
  mapSchema,
  noiseSchema,
  promoteSchema,
  serverSchema,
  shadowingSchema,
  shadowSchema,
  tlsSchema,
} from "../../../src/config/schema.ts";

const MiB = 1024 * 1024;

/**
 * Every numeric setting's documented default and bounds (docs/limits.md, and docs/reference/limits.md generated from the schema), pinned:
 * the lowest and highest values accepted, the nearest ones refused, and fractions refused where it must
 * be whole. `lo`/`hi` undefined: no bound on that side. `exclusiveLo`: must be above `lo`.
 */
type Row = readonly [field: string, defaultValue: number | undefined, lo: number | undefined, hi: number | undefined, int: boolean, exclusiveLo?: boolean];
const tables: ReadonlyArray<readonly [name: string, schema: z.ZodType, base: Record<string, unknown>, rows: readonly Row[]]> = [
  [
    "backend",
    backendSchema,
    { url: "http://127.0.0.1:1" },
    [
      ["connectTimeoutMs", 2_000, 0, 600_000, true, true],
      ["responseTimeoutMs", 30_000, 0, 3_600_000, true, true],
      ["bodyTimeoutMs", 60_000, 0, 3_600_000, true, true],
      ["maxSockets", 128, 1, 10_000, true],
      ["keepAliveTimeoutMs", 4_000, 100, 600_000, true],
      ["maxPendingRequests", 1_024, 0, 1_000_000, true],
      ["maxStreamingUploads", undefined, 1, 10_000, true],
    ],
  ],
  [
    "server",
    serverSchema,
    {},
    [
      ["maxConnections", 10_000, 1, 1_000_000, true],
      ["headersTimeoutMs", 30_000, 1_000, 600_000, true],
      ["requestTimeoutMs", 0, 0, 3_600_000, true],
      ["clientBodyTimeoutMs", 30_000, 100, 3_600_000, true],
      ["keepAliveTimeoutMs", 65_000, 100, 3_600_000, true],
      ["maxHeaderBytes", 16_384, 1_024, 1_048_576, true],
      ["requestBufferBytes", 65_536, 0, 64 * MiB, true],
      ["maxBufferedRequestBytes", 64 * MiB, 0, undefined, true],
      ["lingerTimeoutMs", 5_000, 0, 600_000, true],
      ["lingerMaxBytes", 16 * MiB, 0, undefined, true],
      ["shutdownGraceMs", 5_000, 0, 600_000, true],
    ],
  ],
  ["admin", adminSchema, {}, [["maxBodyBytes", 16_384, 1_024, 1_048_576, true], ["metricsTimeoutMs", 6_000, 100, 60_000, true]]],
  [
    "shadowing",
    shadowingSchema,
    {},
    [
      ["maxInFlight", 64, 1, undefined, true],
      ["maxQueuedComparisons", 256, 1, undefined, true],
      ["maxBufferedBytes", 256 * MiB, 1024, undefined, true],
      ["workerThresholdBytes", 256 * 1024, 0, undefined, true],
      ["maxDecodedBytes", 64 * MiB, 1024, undefined, true],
      ["maxQueuedEvidence", 5_000, 1, undefined, true],
      ["evidenceFlushMs", 200, 10, 60_000, true],
      ["examplesPerSignature", 5, 1, 100, true],
      ["examplesPerSignaturePerMinute", 2, 1, 1_000, true],
      ["signaturesPerRoute", 200, 1, undefined, true],
      ["retentionDays", 7, 0, undefined, false, true],
      ["exampleBodyBytes", 8 * 1024, 256, undefined, true],
    ],
  ],
  [
    "shadow",
    shadowSchema,
    { percent: 100 },
    [
      ["timeoutMs", 5_000, 0, 600_000, true, true],
      ["maxBodyBytes", MiB, 0, undefined, true],
      ["maxResponseBytes", 4 * MiB, 1, undefined, true],
    ],
  ],
  ["compare", compareSchema, {}, [["numericTolerance", 0, 0, undefined, false], ["timestampToleranceMs", 0, 0, undefined, true]]],
  ["noise", noiseSchema, {}, [["warmupSamples", 20, 0, undefined, true], ["sampleRate", 0.05, 0, 1, false], ["minOccurrences", 2, 1, undefined, true]]],
  [
    "guard",
    guardSchema,
    { maxErrorRate: 0.5 },
    [
      ["windowMs", 60_000, 1_000, undefined, true],
      ["minSamples", 20, 1, undefined, true],
      ["maxErrorRate", 0.5, 0, 1, false],
      ["maxDivergenceRate", undefined, 0, 1, false],
      ["maxP99Ratio", undefined, 0, undefined, false, true],
    ],
  ],
  [
    "promote",
    promoteSchema,
    {},
    [
      ["intervalMs", 300_000, 1_000, undefined, true],
      ["minSamples", 100, 1, undefined, true],
      ["maxDivergenceRate", 0.05, 0, 1, false],
      ["maxErrorRate", undefined, 0, 1, false],
      ["confidence", 0.95, 0.5, 0.999, false],
    ],
  ],
  ["fallback", fallbackSchema, {}, [["maxBodyBytes", MiB, 0, undefined, true]]],
  ["tls", tlsSchema, { cert: "cert.pem", key: "key.pem" }, [["reloadCheckMs", 500, 0, 60_000, true], ["handshakeTimeoutMs", 10_000, 100, 120_000, true]]],
  [
    "http2",
    http2Schema,
    {},
    [
      ["maxConcurrentStreams", 100, 1, 10_000, true],
      ["maxHeaderListBytes", 16 * 1024, 1_024, MiB, true],
      ["initialWindowSize", 65_535, 65_535, 16 * MiB, true],
      ["maxSessionMemoryMiB", 10, 1, 1_024, true],
    ],
  ],
  [
    "fleet",
    fleetSchema,
    {},
    [
      ["heartbeatMs", 5_000, 500, undefined, true],
      ["evidenceFlushMs", 1_000, 100, 60_000, true],
      ["foldMs", 2_000, 100, 60_000, true],
      ["evidenceBucketMs", 5_000, 1_000, 60_000, true],
      ["evidenceRetentionMs", 3_600_000, 60_000, undefined, true],
      ["reconcileMs", 5_000, 100, undefined, true],
    ],
  ],
  [
    "map",
    mapSchema,
    {},
    [
      ["maxTrieNodes", 5_000, 100, 1_000_000, true],
      ["maxLiterals", 50, 2, 10_000, true],
      ["maxDepth", 12, 1, 64, true],
      ["flushMs", 5_000, 100, 300_000, true],
      ["retentionMs", 14 * 86_400_000, 3_600_000, undefined, true],
      ["retireQuietPeriodMs", 86_400_000, 0, undefined, true],
    ],
  ],
];

const ok = (schema: z.ZodType, input: unknown) => schema.safeParse(input).success;

for (const [name, schema, base, rows] of tables) {
  describe(`${name} settings: defaults and bounds`, () => {
    for (const [field, defaultValue, lo, hi, int, exclusiveLo] of rows) {
      it(field, () => {
        const parsed = schema.parse(base) as Record<string, unknown>;
        expect(parsed[field]).toBe(defaultValue);
        const step = int ? 1 : 0.001;
        if (lo !== undefined) {
          const lowest = exclusiveLo ? lo + step : lo;
          expect(ok(schema, { ...base, [field]: lowest }), `${field} = ${lowest}`).toBe(true);
          expect(ok(schema, { ...base, [field]: exclusiveLo ? lo : lo - step }), `${field} below its bound`).toBe(false);
        }
        if (hi !== undefined) {
          expect(ok(schema, { ...base, [field]: hi }), `${field} = ${hi}`).toBe(true);
          expect(ok(schema, { ...base, [field]: hi + step }), `${field} above its bound`).toBe(false);
        }
        if (int) expect(ok(schema, { ...base, [field]: (lo ?? 0) + 1.5 }), `${field} must be whole`).toBe(false);
        expect(ok(schema, { ...base, [field]: "10" }), `${field} must be a number`).toBe(false);
      });
    }
  });
}

describe("settings that are not numbers", () => {
  it("defaults of the nested sections are the documented ones", () => {
    expect(backendSchema.parse({ url: "http://127.0.0.1:1" }).circuitBreaker).toEqual({ failures: 5, cooldownMs: 10_000 });
    expect(compareSchema.parse({})).toEqual({ headers: ["content-type"], ignore: [], arrays: [], keyNames: ["id"], numericTolerance: 0, timestampToleranceMs: 0 });
    expect(noiseSchema.parse({})).toEqual({ learn: true, warmupSamples: 20, sampleRate: 0.05, minOccurrences: 2 });
    expect(promoteSchema.parse({})).toMatchObject({ steps: [1, 5, 25, 50, 100], autoStart: false });
    expect(shadowSchema.parse({ percent: 5 })).toMatchObject({ sampling: "sticky", methods: ["GET", "HEAD", "OPTIONS"], shadowWrites: false, redact: { bodyFields: [] } });
    expect(guardSchema.parse({ maxErrorRate: 0.1 }).onTrip).toBe("zero");
    expect(adminSchema.parse({}).allowedHosts).toEqual([]);
  });

  it("circuit breaker bounds", () => {
    const breaker = (c: Record<string, unknown>) => ok(backendSchema, { url: "http://127.0.0.1:1", circuitBreaker: c });
    expect(breaker({ failures: 1, cooldownMs: 100 })).toBe(true);
    expect(breaker({ failures: 0 })).toBe(false);
    expect(breaker({ cooldownMs: 99 })).toBe(false);
  });

  it("backend URLs are http or https with a host; names are lower-case", () => {
    for (const url of ["http://a:1", "https://b.example/v1"]) expect(ok(backendSchema, { url })).toBe(true);
    for (const url of ["ftp://a", "httpx://a", "xhttp://a", "a:1", ""]) expect(ok(backendSchema, { url }), url).toBe(false);
  });

  it("a guard must name a threshold; promotion steps must rise and end at 100", () => {
    expect(ok(guardSchema, {})).toBe(false);
    for (const t of [{ maxErrorRate: 0.1 }, { maxP99Ratio: 2 }, { maxDivergenceRate: 0.1 }]) expect(ok(guardSchema, t)).toBe(true);
    expect(ok(promoteSchema, { steps: [10, 100] })).toBe(true);
    expect(ok(promoteSchema, { steps: [100] })).toBe(true);
    expect(ok(promoteSchema, { steps: [50, 10, 100] })).toBe(false);
    expect(ok(promoteSchema, { steps: [10, 10, 100] })).toBe(false);
    expect(ok(promoteSchema, { steps: [10, 50] })).toBe(false);
    expect(ok(promoteSchema, { steps: [] })).toBe(false);
  });

  it("server: a whole request cannot be shorter than its head", () => {
    expect(ok(serverSchema, { requestTimeoutMs: 5_000, headersTimeoutMs: 5_000 })).toBe(true);
    expect(ok(serverSchema, { requestTimeoutMs: 5_000, headersTimeoutMs: 5_001 })).toBe(false);
    expect(ok(serverSchema, { requestTimeoutMs: 0, headersTimeoutMs: 600_000 })).toBe(true);
  });

  it("admin.allowedHosts takes host names and addresses with an optional port, nothing else", () => {
    for (const h of ["proxy-1.internal", "proxy-1.internal:9901", "10.0.0.5", "[::1]:9901"]) expect(ok(adminSchema, { allowedHosts: [h] }), h).toBe(true);
    for (const h of ["http://x", "x/y", "a b", "x:port", ""]) expect(ok(adminSchema, { allowedHosts: [h] }), h).toBe(false);
  });
});
