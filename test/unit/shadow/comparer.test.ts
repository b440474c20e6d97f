import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { comparesWithoutParsing, type ComparedSide, type ComparisonRequest } from "../../../src/shadow/compare-exchange.ts";
import { createComparer, type Comparer } from "../../../src/shadow/comparer.ts";
import { RawHead } from "../../../src/proxy/raw-head.ts";

/** A side whose head is kept raw, as the proxy keeps an answer's head (names in any case, as backends send them). */
const rawSide = (value: unknown, fields: Array<[string, string]>, encode = (b: Buffer) => b): ComparedSide => ({
  ok: true,
  response: { status: 200, headers: new RawHead(fields.flatMap(([n, v]) => [Buffer.from(n), Buffer.from(v, "latin1")])), body: encode(Buffer.from(JSON.stringify(value))), truncated: false },
});

const big = { items: Array.from({ length: 3000 }, (_, i) => ({ id: i, name: `item ${i}`, note: "y".repeat(120) })) };
const side = (value: unknown, headers: Record<string, string> = {}, encode = (b: Buffer) => b): ComparedSide => ({
  ok: true,
  response: { status: 200, headers: { "content-type": "application/json", ...headers }, body: encode(Buffer.from(JSON.stringify(value))), truncated: false },
});
const request = (left: ComparedSide, right: ComparedSide, noise?: ComparisonRequest["noise"]): ComparisonRequest => ({ left, right, headers: ["content-type"], rules: {}, ...(noise ? { noise } : {}) });

describe("the size-aware rule: large byte-identical pairs need no parsing", () => {
  it("holds for byte-identical bodies in the same encoding, and only then", () => {
    expect(comparesWithoutParsing(request(side(big), side(big)))).toBe(true);
    expect(comparesWithoutParsing(request(side(big), side({ ...big, extra: 1 })))).toBe(false);
    expect(comparesWithoutParsing(request(side(big), side(big, { "content-encoding": "gzip" }, gzipSync)))).toBe(false);
    expect(comparesWithoutParsing(request(side(big), { ok: false, error: "upstream_timeout" }))).toBe(false);
    expect(comparesWithoutParsing(request(side(big), side(big), { side: "left", again: side(big) }))).toBe(true);
    expect(comparesWithoutParsing(request(side(big), side(big), { side: "left", again: side({ ...big, at: 1 }) }))).toBe(false);
  });

  let comparer: Comparer | undefined;
  afterEach(async () => {
    await comparer?.close();
  });

  it("a large pair matches on the main thread when identical, and is still diffed in the worker when not", async () => {
    comparer = createComparer({ workerThresholdBytes: 1024 });
    const same = await comparer.compare(request(side(big), side(big)));
    expect(same).toMatchObject({ outcome: "match", differences: [] });
    // A header still differs even when the bodies are the same bytes.
    const header = await comparer.compare(request(side(big), side(big, { "content-type": "text/plain" })));
    expect(header?.outcome).toBe("diverge");
    const differing = await comparer.compare(request(side(big), side({ items: big.items.map((item, i) => (i === 7 ? { ...item, name: "changed" } : item)) })));
    expect(differing?.differences).toMatchObject([{ path: "$.items[7].name", kind: "changed" }]);
  });
});

describe("answers whose heads are kept raw (RawHead)", () => {
  it("compare their headers and encodings as parsed heads do, on the main thread and in the worker", async () => {
    const comparer = createComparer({ workerThresholdBytes: 1024 });
    try {
      const json: [string, string] = ["Content-Type", "application/json"];
      // Small, on the main thread: a changed header, and the same content under another encoding.
      await expect(comparer.compare(request(rawSide({ a: 1 }, [json]), rawSide({ a: 1 }, [["content-type", "text/plain"]])))).resolves.toMatchObject({ differences: [{ path: "header:content-type", kind: "changed", left: "application/json", right: "text/plain" }] });
      await expect(comparer.compare(request(rawSide({ a: 1 }, [json]), rawSide({ a: 1 }, [json, ["Content-Encoding", "gzip"]], gzipSync)))).resolves.toMatchObject({ outcome: "match", differences: [] });
      // Large and differing, in the worker: the raw head crosses as an object and is read the same.
      const changed = { items: big.items.map((item, i) => (i === 3 ? { ...item, name: "changed" } : item)) };
      const inWorker = await comparer.compare(request(rawSide(big, [json, ["CONTENT-ENCODING", "gzip"]], gzipSync), rawSide(changed, [["content-type", "text/html"]])));
      expect(inWorker?.differences).toMatchObject([{ path: "header:content-type", kind: "changed" }, { path: "$.items[3].name", kind: "changed" }]);
    } finally {
      await comparer.close();
    }
  });
});

describe("a pair whose bodies were found identical as they streamed (identicalBodies)", () => {
  /** A side whose body must not be read: a comparison that reads it throws. */
  const unread = (headers: Record<string, string> = {}): ComparedSide => ({
    ok: true,
    response: {
      status: 200,
      headers: { "content-type": "application/json", ...headers },
      truncated: false,
      get body(): Uint8Array {
        throw new Error("the body was read");
      },
    },
  });

  it("is compared on status and headers alone, on the main thread, without reading a body", async () => {
    const comparer = createComparer({ workerThresholdBytes: 16 });
    try {
      await expect(comparer.compare({ ...request(unread(), unread()), identicalBodies: true })).resolves.toMatchObject({ outcome: "match" });
      const header = await comparer.compare({ ...request(unread(), unread({ "content-type": "text/plain" })), identicalBodies: true });
      expect(header?.differences).toMatchObject([{ path: "header:content-type", kind: "changed" }]);
      // Without the verdict the bodies are read (and here, throw): the flag is what spares them.
      await expect(async () => comparer.compare(request(unread(), unread()))).rejects.toThrow("the body was read");
    } finally {
      await comparer.close();
    }
  });
});

describe("small pairs, compared together on the next turn", () => {
  it("settles each pair with its own result, rejects only the one that throws, and counts them out of pending", async () => {
    const comparer = createComparer({ maxQueued: 3 });
    try {
      // Its size is read when the pair is queued; its bytes, on the turn, throw.
      let reads = 0;
      const bad: ComparedSide = {
        ok: true,
        response: {
          status: 200,
          headers: { "content-type": "application/json" },
          truncated: false,
          get body(): Uint8Array {
            if (reads++ === 0) return new Uint8Array(4);
            throw new Error("unreadable");
          },
        },
      };
      const match = comparer.compare(request(side({ a: 1 }), side({ a: 1 })));
      const throws = comparer.compare(request(bad, side({ a: 1 })));
      const diverge = comparer.compare(request(side({ a: 1 }), side({ a: 2 })));
      // The bound counts pairs waiting for their turn: a fourth is refused.
      expect(comparer.pending).toBe(3);
      expect(comparer.compare(request(side({}), side({})))).toBeUndefined();
      await expect(match).resolves.toMatchObject({ outcome: "match" });
      await expect(throws).rejects.toThrow("unreadable");
      await expect(diverge).resolves.toMatchObject({ outcome: "diverge", differences: [{ path: "$.a", kind: "changed" }] });
      expect(comparer.pending).toBe(0);
      // A later turn works the same way.
      await expect(comparer.compare(request(side([1]), side([1])))).resolves.toMatchObject({ outcome: "match" });
      expect(comparer.pending).toBe(0);
    } finally {
      await comparer.close();
    }
  });
});
