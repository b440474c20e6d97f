import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isReadAtStartUp, READ_AT_START_UP, startUpKeysChanged } from "../../../src/config/read-at-start-up.ts";
import { configSchema, type StranglerConfig } from "../../../src/config/schema.ts";
import { schemaKeys } from "../../../scripts/docs/references.ts";

const config = (input: Record<string, unknown>): StranglerConfig => configSchema.parse({ backends: { legacy: { url: "http://127.0.0.1:1" } }, ...input });

describe("the keys read at start-up", () => {
  it("each names a key of the schema (a renamed key fails here, not silently in a reload)", () => {
    const paths = schemaKeys().map((k) => k.path);
    for (const entry of READ_AT_START_UP) expect(paths, entry).toContain(entry);
  });

  it("are said in one place: no comment of the schema says 'read at start-up' itself", () => {
    expect(readFileSync(new URL("../../../src/config/schema.ts", import.meta.url), "utf8")).not.toMatch(/read at start-up/i);
  });

  it("a prefix stands for the keys under it, and only those", () => {
    expect(isReadAtStartUp("server.http2.maxConcurrentStreams")).toBe(true);
    expect(isReadAtStartUp("fleet.heartbeatMs")).toBe(true);
    expect(isReadAtStartUp("server.maxHeaderBytes")).toBe(true);
    expect(isReadAtStartUp("server.maxHeaderBytesX")).toBe(false);
    expect(isReadAtStartUp("server.keepAliveTimeoutMs")).toBe(false);
    expect(isReadAtStartUp("map.retireQuietPeriodMs")).toBe(false);
  });

  it("startUpKeysChanged names the start-up keys whose value differs, by value, deep", () => {
    const started = config({ server: { http2: { maxConcurrentStreams: 100 } } });
    expect(startUpKeysChanged(started, config({ server: { http2: { maxConcurrentStreams: 100 } } }))).toEqual([]);
    expect(startUpKeysChanged(started, config({ server: { http2: { maxConcurrentStreams: 50 }, keepAliveTimeoutMs: 1_000 }, map: { maxDepth: 3 } }))).toEqual(["server.http2", "map.maxDepth"]);
    expect(startUpKeysChanged(started, config({ server: { tls: { cert: "a.pem", key: "a.key" } } }))).toEqual(["server.tls"]);
  });

  it("an OpenFeature provider, a new object on every load, counts as changed only when it comes or goes", () => {
    const provider = () => ({ metadata: { name: "p" }, resolveStringEvaluation: () => ({ value: "legacy" }) });
    const withProvider = config({ openFeature: { provider: provider() } });
    expect(startUpKeysChanged(withProvider, config({ openFeature: { provider: provider() } }))).toEqual([]);
    expect(startUpKeysChanged(withProvider, config({}))).toEqual(["openFeature"]);
  });
});
