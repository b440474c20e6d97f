import { Buffer } from "node:buffer";
import type { IncomingMessage } from "node:http";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { configSchema } from "../../../src/config/schema.ts";
import { drawn, Recorder } from "../../../src/recording/recorder.ts";
import { NO_EXTRA_RULES } from "../../../src/redaction/redactor.ts";
import { openStores, type Stores } from "../../../src/store/open-stores.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";

/** The recorder over a real SQLite file, fed exchanges by hand (the data plane's calls, as forward.ts makes them). */
const settings = (over: Record<string, number> = {}) => configSchema.parse({ backends: { legacy: { url: "http://127.0.0.1:1" } }, recording: over }).recording;
const request = (path: string) => ({ method: "GET", headers: { accept: "application/json" }, url: path }) as unknown as IncomingMessage;
const opened: Stores[] = [];
const dirs: Array<{ remove(): void }> = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) d.remove();
});
/** A data directory of the test's own. */
function dataDir(): string {
  const temp = makeTempDir();
  dirs.push(temp);
  return temp.dir;
}

async function recorderOn(dir: string, over: Record<string, number> = {}, now = () => 1_000) {
  const stores = await openStores({ dataDir: dir });
  opened.push(stores);
  return { stores, recorder: new Recorder({ store: stores.recordings, settings: () => settings(over), redaction: () => NO_EXTRA_RULES, logger: pino({ level: "silent" }), configVersion: () => "v1", bodyFields: () => [], now }) };
}

function exchange(recorder: Recorder, route: string, status = 200): boolean {
  const capture = recorder.capture(route, request("/x"), "/x", "", undefined);
  if (!capture) return false;
  capture.head(status, [Buffer.from("content-type"), Buffer.from("application/json")]);
  capture.chunk(Buffer.from('{"ok":true}'));
  capture.done(null, false);
  return true;
}

describe("the recorder", () => {
  it("drops and counts past its queue, never waits, and a recording that keeps dropping stops itself as overload", async () => {
    let now = 1_000;
    const { stores, recorder } = await recorderOn(dataDir(), { maxQueued: 1, overloadStopMs: 5_000 }, () => now);
    const { id } = (await recorder.begin({ routeId: "r", rate: 1, maxExchanges: 100, startedBy: "t", reason: "overload" })) as { id: number };
    for (let i = 0; i < 5; i++) expect(exchange(recorder, "r")).toBe(true);
    now += 5_000;
    await recorder.flush();
    expect(await stores.recordings.get(id)).toMatchObject({ exchanges: 1, dropped: 4, stopReason: "overload" });
    expect(recorder.isRecording("r")).toBe(false);
  });

  it("captures nothing past a recording's size, and stops it as full once written", async () => {
    const { stores, recorder } = await recorderOn(dataDir());
    const { id } = (await recorder.begin({ routeId: "r", rate: 1, maxExchanges: 3, startedBy: "t", reason: "size" })) as { id: number };
    const captured = Array.from({ length: 6 }, () => exchange(recorder, "r"));
    expect(captured).toEqual([true, true, true, false, false, false]);
    await recorder.flush();
    expect(await stores.recordings.get(id)).toMatchObject({ exchanges: 3, stopReason: "full" });
  });

  it("follows recordings started and stopped through another process on the same store", async () => {
    const dir = dataDir();
    const a = await recorderOn(dir);
    const b = await recorderOn(dir);
    const started = (await a.recorder.begin({ routeId: "r", rate: 1, maxExchanges: 10, startedBy: "t", reason: "fleet" })) as { id: number };
    expect(b.recorder.isRecording("r")).toBe(false);
    await b.recorder.refresh();
    expect(b.recorder.isRecording("r")).toBe(true);
    expect(exchange(b.recorder, "r", 404)).toBe(true);
    await b.recorder.flush();
    expect(await a.stores.recordings.get(started.id)).toMatchObject({ exchanges: 1 });
    await a.recorder.stop(started.id, "stopped");
    await b.recorder.refresh();
    expect(b.recorder.isRecording("r")).toBe(false);
  });

  it("lets an exchange go at its answer's head (for JSON, its first chunk) when the rate did not draw it and its stratum is at its quota: no body held", async () => {
    const { stores, recorder } = await recorderOn(dataDir());
    // A rate of one in a million, a size of 50: each stratum's quota is its first exchange.
    const { id } = (await recorder.begin({ routeId: "r", rate: 0.000001, maxExchanges: 50, startedBy: "t", reason: "head" })) as { id: number };
    const answer = (type: string, body: string) => {
      const capture = recorder.capture("r", request("/x"), "/x", "", undefined);
      if (!capture) throw new Error("not captured");
      capture.head(200, [Buffer.from("Content-Type"), Buffer.from(type)]);
      capture.chunk(Buffer.from(body));
      const held = recorder.heldBytes;
      capture.done(null, false);
      return held;
    };
    expect(answer("text/plain", "first text")).toBe(10);
    // Its stratum is at its quota: the next one is not held.
    expect(answer("text/plain", "second text")).toBe(0);
    expect(answer("application/json", '{"a":1}')).toBe(7);
    // A JSON answer's stratum is known at its first chunk (its shape): an object is let go there once
    // objects are at their quota, though arrays are not (a route that answers objects only lets every
    // later one go)…
    expect(answer("application/json", '{"b":2}')).toBe(0);
    // …while an answer of a shape under its quota is held.
    expect(answer("application/json", "[1]")).toBe(3);
    expect(answer("application/json", '"s"')).toBe(3);
    expect(answer("application/json", "[2]")).toBe(0);
    expect(recorder.heldBytes).toBe(0);
    await recorder.flush();
    expect(await stores.recordings.get(id)).toMatchObject({ exchanges: 4 });
  });

  it("draws by user: the same user always (so a session's exchanges are kept together, in every recording of the same rate), about the rate of users", () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
    const share = keys.filter((k) => drawn(k, 0.1)).length / keys.length;
    expect(share).toBeGreaterThan(0.09);
    expect(share).toBeLessThan(0.11);
    for (const k of keys.slice(0, 100)) expect(drawn(k, 0.1)).toBe(drawn(k, 0.1));
    // A user drawn at a rate is drawn at every higher one.
    expect(keys.filter((k) => drawn(k, 0.1) && !drawn(k, 0.5))).toEqual([]);
    expect(keys.every((k) => drawn(k, 1))).toBe(true);
    // With no sticky key, by chance.
    const anonymous = Array.from({ length: 10_000 }, () => drawn(undefined, 0.1)).filter(Boolean).length;
    expect(anonymous).toBeGreaterThan(800);
    expect(anonymous).toBeLessThan(1_200);
  });
});
