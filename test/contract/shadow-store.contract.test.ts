import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvidenceBatchItem, NewExample } from "../../src/store/shadow-repository.ts";
import { EvidenceWriter } from "../../src/shadow/evidence-writer.ts";
import { capturingLogger } from "../helpers/log-capture.ts";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { storeKinds, withStore } from "../helpers/stores.ts";

/** The shadow evidence store's contract, on SQLite and on PostgreSQL. */
let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

const retention = { examplesPerSignature: 2, signaturesPerRoute: 3, maxAgeDays: 7 };
const example = (requestId: string): NewExample => ({
  requestId,
  method: "GET",
  path: "/api/products",
  query: "page=1",
  requestBody: "",
  primary: "legacy",
  legacyStatus: 200,
  targetStatus: 200,
  legacyMs: 3.5,
  targetMs: 4.25,
  requestHeaders: { accept: "application/json", authorization: "[redacted]" },
  legacyBody: '{"price":4.99}',
  targetBody: '{"price":"4.99"}',
  differences: [{ path: "$.price", kind: "type_changed", left: "4.99", right: '"4.99"' }],
});
const now = Date.now();
const at = (secondsAgo: number) => new Date(now - secondsAgo * 1_000).toISOString();
const atMs = (secondsAgo: number) => now - secondsAgo * 1_000;
const diverged = (secondsAgo: number, path = "$.price", ex?: string): EvidenceBatchItem => ({
  routeId: "r",
  atMs: atMs(secondsAgo),
  outcome: "diverge",
  signatures: [{ path, kind: "type_changed" }],
  ...(ex ? { example: example(ex) } : {}),
});
const minuteNow = Math.floor(now / 60_000);

describe.each(storeKinds(() => postgres))("the shadow evidence store on %s", (_kind, open) => {
  it(
    "takes the evidence writer's counted outcomes as exact counts, each in its own minute, beside queued items",
    withStore(open, async (s) => {
      const { shadows } = await s.node();
      const writer = new EvidenceWriter(shadows, () => ({ ...retention, examplesPerSignaturePerMinute: 1 }), capturingLogger().logger, 5_000, 3_600_000);
      for (let i = 0; i < 500; i++) writer.count("c", "match");
      writer.count("c", "skipped");
      writer.count("c", "match", atMs(600)); // ten minutes ago: the minute turns (back), and what was counted is queued
      writer.count("c", "error");
      writer.push({ routeId: "c", atMs: atMs(0), outcome: "match", signatures: [] }); // a plain item is counted too
      writer.push({ ...diverged(0), routeId: "c" }); // a signature: queued as an item
      await writer.close();
      await s.settle();
      expect(await shadows.outcomes("c", minuteNow - 20)).toEqual({ match: 502, diverge: 1, error: 1, skipped: 1 });
      expect(await shadows.outcomes("c", minuteNow - 5)).toEqual({ match: 501, diverge: 1, error: 1, skipped: 1 });
      const byMinute = await shadows.outcomesByMinute("c", minuteNow - 20);
      expect(byMinute.find((m) => m.minute === Math.floor(atMs(600) / 60_000))).toEqual({ minute: Math.floor(atMs(600) / 60_000), compared: 1, match: 1 });
      expect((await shadows.signatures("c")).map((sig) => sig.count)).toEqual([1]);
      expect(writer.dropped).toBe(0);
    }),
  );

  it(
    "tallies results with one signature and nothing else to store: exact counts, first and last seen, minutes and outcomes apart",
    withStore(open, async (s) => {
      const { shadows } = await s.node();
      const writer = new EvidenceWriter(shadows, () => ({ ...retention, examplesPerSignaturePerMinute: 1 }), capturingLogger().logger, 5_000, 3_600_000);
      const price = { path: "$.price", kind: "type_changed" };
      writer.countSigned("t", "diverge", price, atMs(30));
      for (let i = 0; i < 300; i++) writer.countSigned("t", "diverge", price, atMs(20));
      writer.push({ routeId: "t", atMs: atMs(25), outcome: "diverge", signatures: [price] }); // a plain item with one signature is tallied too
      writer.countSigned("t", "diverge", price, atMs(600)); // ten minutes ago: the tally so far is queued, a new one starts
      writer.countSigned("t", "error", { path: "$", kind: "error" }, atMs(10));
      writer.countSigned("t", "diverge", { path: "$.name", kind: "changed" }, atMs(5));
      writer.push({ ...diverged(15, "$.price", "ex"), routeId: "t" }); // with an example: queued as an item, beside the tally
      await writer.close();
      await s.settle();
      expect(await shadows.outcomes("t", minuteNow - 20)).toEqual({ match: 0, diverge: 305, error: 1, skipped: 0 });
      const byMinute = await shadows.outcomesByMinute("t", minuteNow - 20);
      expect(byMinute.find((m) => m.minute === Math.floor(atMs(600) / 60_000))).toEqual({ minute: Math.floor(atMs(600) / 60_000), compared: 1, match: 0 });
      const signatures = await shadows.signatures("t");
      const byPath = Object.fromEntries(signatures.map((sig) => [`${sig.path} ${sig.kind}`, sig]));
      expect(byPath["$.price type_changed"]).toMatchObject({ count: 304, lastSeen: at(15) });
      // The earliest of everything written at once (the ten-minute-old one came in another tally).
      expect(byPath["$.price type_changed"]?.firstSeen).toBe(at(600));
      expect(byPath["$ error"]).toMatchObject({ count: 1, firstSeen: at(10), lastSeen: at(10) });
      expect(byPath["$.name changed"]).toMatchObject({ count: 1, firstSeen: at(5), lastSeen: at(5) });
      expect((await shadows.examples(byPath["$.price type_changed"]?.id as number, 10)).map((e) => e.requestId)).toEqual(["ex"]);
      expect(writer.dropped).toBe(0);
    }),
  );

  it(
    "counts the tallies against the queue's bound: past it, a new signature is dropped and counted, a known one still counted",
    withStore(open, async (s) => {
      const { shadows } = await s.node();
      const writer = new EvidenceWriter(shadows, () => ({ ...retention, examplesPerSignaturePerMinute: 1 }), capturingLogger().logger, 3, 3_600_000);
      for (const path of ["$.a", "$.b", "$.c", "$.d", "$.e"]) writer.countSigned("b", "diverge", { path, kind: "changed" }, atMs(1));
      writer.countSigned("b", "diverge", { path: "$.a", kind: "changed" }, atMs(1));
      expect(writer.dropped).toBe(2);
      await writer.close();
      await s.settle();
      expect((await shadows.signatures("b")).map((sig) => [sig.path, sig.count]).sort()).toEqual([
        ["$.a", 2],
        ["$.b", 1],
        ["$.c", 1],
      ]);
    }),
  );

  it(
    "sums a batch: outcomes per minute, signatures with counts and first/last seen, examples newest first and trimmed",
    withStore(open, async (s) => {
      const { shadows } = await s.node();
      await shadows.writeBatch([diverged(30, "$.price", "e1"), diverged(20, "$.price", "e2"), diverged(10, "$.price", "e3"), { routeId: "r", atMs: atMs(5), outcome: "match", signatures: [] }], retention);
      await s.settle();
      const outcomes = await shadows.outcomes("r", minuteNow - 5);
      expect(outcomes).toEqual({ match: 1, diverge: 3, error: 0, skipped: 0 });
      const [sig] = await shadows.signatures("r");
      expect(sig).toMatchObject({ routeId: "r", path: "$.price", kind: "type_changed", count: 3, firstSeen: at(30), lastSeen: at(10), status: "open", statusReason: "" });
      const examples = await shadows.examples(sig?.id as number, 10);
      expect(examples.map((e) => e.requestId)).toEqual(["e3", "e2"]); // two kept, newest first
      expect(examples[0]).toMatchObject({ signatureId: sig?.id, at: at(10), ...example("e3") });
      expect(await shadows.signature(sig?.id as number)).toEqual(sig);
      expect(await shadows.signature(999_999)).toBeUndefined();
      const byMinute = await shadows.outcomesByMinute("r", minuteNow - 5);
      expect(byMinute.reduce((n, m) => n + m.compared, 0)).toBe(4);
      expect(byMinute.reduce((n, m) => n + m.match, 0)).toBe(1);
    }),
  );

  it(
    "adds up the batches of many nodes, written at once",
    withStore(open, async (s) => {
      const nodes = await Promise.all(Array.from({ length: 4 }, () => s.node()));
      await Promise.all(
        nodes.map((n, i) =>
          n.shadows.writeBatch(
            Array.from({ length: 25 }, (_, k) => diverged(k, k % 2 ? "$.price" : "$.name", k === 0 ? `n${i}` : undefined)),
            retention,
          ),
        ),
      );
      await s.settle();
      const signatures = await nodes[0]?.shadows.signatures("r");
      expect(signatures?.map((x) => [x.path, x.count])).toEqual([
        ["$.name", 52],
        ["$.price", 48],
      ]);
      expect((await nodes[1]?.shadows.outcomes("r", minuteNow - 5))?.diverge).toBe(100);
    }),
  );

  it(
    "acknowledges a signature, filters by status, and resets a route's evidence",
    withStore(open, async (s) => {
      const { shadows } = await s.node();
      await shadows.writeBatch([diverged(3, "$.a", "x"), diverged(2, "$.b")], retention);
      await s.settle();
      const [first] = await shadows.signatures("r");
      expect(await shadows.acknowledge(first?.id as number, "accepted", "intended")).toMatchObject({ status: "accepted", statusReason: "intended" });
      expect((await shadows.signatures("r", "open")).map((x) => x.path)).toEqual([first?.path === "$.a" ? "$.b" : "$.a"]);
      expect(await shadows.acknowledge(999_999, "fixed", "x")).toBeUndefined();
      expect(await shadows.resetRoute("r")).toEqual({ signatures: 2, outcomes: expect.any(Number) });
      expect(await shadows.signatures("r")).toEqual([]);
      expect(await shadows.examples(first?.id as number, 10)).toEqual([]);
      expect(await shadows.outcomes("r", 0)).toEqual({ match: 0, diverge: 0, error: 0, skipped: 0 });
    }),
  );

  it(
    "prunes the least recently seen signatures past the cap, and everything past the age limit",
    withStore(open, async (s) => {
      const { shadows } = await s.node();
      await shadows.writeBatch(["$.a", "$.b", "$.c", "$.d", "$.e"].map((path, i) => diverged(50 - i * 10, path, `ex-${path}`)), retention);
      await s.settle();
      const old = now - 8 * 86_400_000;
      await shadows.writeBatch([{ routeId: "old", atMs: old, outcome: "diverge", signatures: [{ path: "$.x", kind: "changed" }], example: example("ancient") }], retention);
      await s.settle();
      await shadows.prune(retention);
      expect((await shadows.signatures("r")).map((x) => x.path).sort()).toEqual(["$.c", "$.d", "$.e"]);
      expect(await shadows.signatures("old")).toEqual([]);
      expect(await shadows.outcomes("old", 0)).toEqual({ match: 0, diverge: 0, error: 0, skipped: 0 });
    }),
  );

  it(
    "learns noise once per sample and per place (path and kind), keeps a person's verdict on it, and counts samples",
    withStore(open, async (s) => {
      const { shadows } = await s.node();
      const changed = (path: string) => ({ path, kind: "changed" });
      const sample = (places: Array<{ path: string; kind: string }>): EvidenceBatchItem => ({ routeId: "r", atMs: atMs(1), outcome: "match", signatures: [], noiseSample: { places } });
      await shadows.writeBatch([sample([changed("$.at"), changed("$.at"), changed("$.id"), { path: "$.items", kind: "order" }]), sample([changed("$.at")])], retention);
      await s.settle();
      expect(await shadows.noiseSamples("r")).toBe(2);
      expect(await shadows.noiseSamples("other")).toBe(0);
      expect((await shadows.noise("r")).map((n) => [n.path, n.kind, n.occurrences, n.status])).toEqual([
        ["$.at", "changed", 2, "learned"],
        ["$.id", "changed", 1, "learned"],
        ["$.items", "order", 1, "learned"],
      ]);
      expect(await shadows.setNoiseStatus("r", "$.id", "changed", "rejected")).toMatchObject({ path: "$.id", kind: "changed", occurrences: 1, status: "rejected" });
      expect(await shadows.setNoiseStatus("r", "$.new", "*", "confirmed")).toMatchObject({ path: "$.new", kind: "*", occurrences: 0, status: "confirmed" });
      // Another kind at the same path is another place.
      expect(await shadows.setNoiseStatus("r", "$.items", "type_changed", "rejected")).toMatchObject({ path: "$.items", kind: "type_changed", occurrences: 0 });
      await shadows.writeBatch([sample([changed("$.id")])], retention);
      await s.settle();
      expect((await shadows.noise()).find((n) => n.path === "$.id")).toMatchObject({ occurrences: 2, status: "rejected" });
      expect((await shadows.noise("r")).filter((n) => n.path === "$.items").map((n) => [n.kind, n.status])).toEqual([
        ["order", "learned"],
        ["type_changed", "rejected"],
      ]);
    }),
  );
});
