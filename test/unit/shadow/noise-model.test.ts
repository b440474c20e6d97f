import { describe, expect, it } from "vitest";
import { NoiseModel } from "../../../src/shadow/noise-model.ts";
import { openDatabase } from "../../../src/store/database.ts";
import { createShadowRepository } from "../../../src/store/shadow-repository.ts";
import { sqliteShadowStore } from "../../../src/store/shadow-store.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";

describe("the noise model", () => {
  it("loads what the store learned: occurrences, statuses and sample counts per route", () => {
    const model = new NoiseModel(
      [
        { routeId: "r", path: "$.at", occurrences: 3, status: "learned", lastSeen: "" },
        { routeId: "r", path: "$.id", occurrences: 0, status: "confirmed", lastSeen: "" },
        { routeId: "r", path: "$.price", occurrences: 9, status: "rejected", lastSeen: "" },
        { routeId: "s", path: "$.x", occurrences: 1, status: "learned", lastSeen: "" },
      ],
      (id) => (id === "r" ? 12 : 1),
    );
    expect(model.samples("r")).toBe(12);
    expect(model.samples("s")).toBe(1);
    expect(model.samples("unknown")).toBe(0);
    expect(model.isNoise("r", "$.at", 3)).toBe(true);
    expect(model.isNoise("r", "$.at", 4)).toBe(false);
    expect(model.isNoise("r", "$.id", 100)).toBe(true); // confirmed: always
    expect(model.isNoise("r", "$.price", 1)).toBe(false); // rejected: never
    expect(model.isNoise("r", "$.other", 1)).toBe(false);
    expect(model.isNoise("unknown", "$.at", 1)).toBe(false);
    expect(model.isNoise("s", "$.at", 1)).toBe(false); // per route
    expect([...model.noisePaths("r", 3)].sort()).toEqual(["$.at", "$.id"]);
    expect(model.noisePaths("unknown", 1)).toEqual([]);
  });

  it("asks for every read during the warm-up, then for the sample rate", () => {
    const model = new NoiseModel([], () => 0);
    expect(model.wantsSample("r", 2, 0)).toBe(true);
    model.observe("r", []);
    expect(model.wantsSample("r", 2, 0)).toBe(true);
    model.observe("r", []);
    expect(model.samples("r")).toBe(2);
    expect(model.wantsSample("r", 2, 0)).toBe(false);
    expect(model.wantsSample("r", 2, 1)).toBe(true);
  });

  it("observing records the sample and marks new paths learned; a person's status stays", () => {
    const model = new NoiseModel([], () => 0);
    model.setStatus("r", "$.a", "rejected");
    model.observe("r", ["$.a", "$.b"]);
    model.observe("r", ["$.a", "$.b"]);
    expect(model.isNoise("r", "$.a", 1)).toBe(false);
    expect(model.isNoise("r", "$.b", 2)).toBe(true);
    model.setStatus("r", "$.b", "confirmed");
    model.observe("r", ["$.b"]);
    expect(model.isNoise("r", "$.b", 1_000)).toBe(true);
  });

  it("lists a path it learned by observing among the route's noise paths once it repeats", () => {
    const model = new NoiseModel([], () => 0);
    model.observe("r", ["$.at"]);
    expect(model.noisePaths("r", 2)).toEqual([]);
    model.observe("r", ["$.at"]);
    expect(model.noisePaths("r", 2)).toEqual(["$.at"]);
  });

  it("gives the same list while the route's noise stands, and a new one as soon as a sample or a person changes it", () => {
    const model = new NoiseModel([], () => 0);
    model.observe("r", ["$.at", "$.id"]);
    model.observe("r", ["$.at"]);
    const first = model.noisePaths("r", 2);
    expect(first).toEqual(["$.at"]);
    expect(model.noisePaths("r", 2)).toBe(first); // the same object: the comparer's compiled rules stay valid
    model.observe("r", []); // a sample in which nothing differed changes no path
    expect(model.noisePaths("r", 2)).toBe(first);
    expect(model.noisePaths("r", 1)).toEqual(["$.at", "$.id"]); // another threshold is answered afresh
    model.observe("r", ["$.id"]);
    expect(model.noisePaths("r", 2)).toEqual(["$.at", "$.id"]);
    model.setStatus("r", "$.at", "rejected");
    expect(model.noisePaths("r", 2)).toEqual(["$.id"]);
    expect(() => (model.noisePaths("r", 2) as string[]).push("$.x")).toThrow(); // frozen: no caller can change the shared list
  });

  it("loads from the SQLite store what earlier samples taught it, sample counts of quiet routes included", async () => {
    const temp = makeTempDir();
    const db = openDatabase(temp.dir);
    try {
      const repo = createShadowRepository(db);
      const atMs = Date.now();
      const sample = { routeId: "r", atMs, outcome: "match" as const, signatures: [], noiseSample: { paths: ["$.at"] } };
      const quiet = { routeId: "quiet", atMs, outcome: "match" as const, signatures: [], noiseSample: { paths: [] } };
      repo.writeBatch([sample, sample, quiet], { examplesPerSignature: 5, signaturesPerRoute: 200, maxAgeDays: 7 });
      const model = await NoiseModel.load(sqliteShadowStore(repo), ["quiet"]);
      expect(model.samples("r")).toBe(2);
      expect(model.isNoise("r", "$.at", 2)).toBe(true);
      expect(model.samples("quiet")).toBe(1);
    } finally {
      db.close();
      temp.remove();
    }
  });
});
