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
        { routeId: "r", path: "$.at", occurrences: 3, status: "learned", lastSeen: "", kind: "*" },
        { routeId: "r", path: "$.id", occurrences: 0, status: "confirmed", lastSeen: "", kind: "*" },
        { routeId: "r", path: "$.price", occurrences: 9, status: "rejected", lastSeen: "", kind: "*" },
        { routeId: "s", path: "$.x", occurrences: 1, status: "learned", lastSeen: "", kind: "*" },
      ],
      (id) => (id === "r" ? 12 : 1),
    );
    expect(model.samples("r")).toBe(12);
    expect(model.samples("s")).toBe(1);
    expect(model.samples("unknown")).toBe(0);
    expect(model.isNoise("r", "$.at", "changed", 3)).toBe(true);
    expect(model.isNoise("r", "$.at", "changed", 4)).toBe(false);
    expect(model.isNoise("r", "$.id", "changed", 100)).toBe(true); // confirmed: always
    expect(model.isNoise("r", "$.price", "changed", 1)).toBe(false); // rejected: never
    expect(model.isNoise("r", "$.other", "changed", 1)).toBe(false);
    expect(model.isNoise("unknown", "$.at", "changed", 1)).toBe(false);
    expect(model.isNoise("s", "$.at", "changed", 1)).toBe(false); // per route
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
    model.setStatus("r", "$.a", "changed", "rejected");
    model.observe("r", [{ path: "$.a", kind: "changed" }, { path: "$.b", kind: "changed" }]);
    model.observe("r", [{ path: "$.a", kind: "changed" }, { path: "$.b", kind: "changed" }]);
    expect(model.isNoise("r", "$.a", "changed", 1)).toBe(false);
    expect(model.isNoise("r", "$.b", "changed", 2)).toBe(true);
    model.setStatus("r", "$.b", "changed", "confirmed");
    model.observe("r", [{ path: "$.b", kind: "changed" }]);
    expect(model.isNoise("r", "$.b", "changed", 1_000)).toBe(true);
  });

  it("lists a path it learned by observing among the route's noise paths once it repeats", () => {
    const model = new NoiseModel([], () => 0);
    model.observe("r", [{ path: "$.at", kind: "changed" }]);
    expect(model.noisePaths("r", 2)).toEqual([]);
    model.observe("r", [{ path: "$.at", kind: "changed" }]);
    expect(model.noisePaths("r", 2)).toEqual(["$.at"]);
  });

  it("gives the same list while the route's noise stands, and a new one as soon as a sample or a person changes it", () => {
    const model = new NoiseModel([], () => 0);
    model.observe("r", [{ path: "$.at", kind: "changed" }, { path: "$.id", kind: "changed" }]);
    model.observe("r", [{ path: "$.at", kind: "changed" }]);
    const first = model.noisePaths("r", 2);
    expect(first).toEqual(["$.at"]);
    expect(model.noisePaths("r", 2)).toBe(first); // the same object: the comparer's compiled rules stay valid
    model.observe("r", []); // a sample in which nothing differed changes no path
    expect(model.noisePaths("r", 2)).toBe(first);
    expect(model.noisePaths("r", 1)).toEqual(["$.at", "$.id"]); // another threshold is answered afresh
    model.observe("r", [{ path: "$.id", kind: "changed" }]);
    expect(model.noisePaths("r", 2)).toEqual(["$.at", "$.id"]);
    model.setStatus("r", "$.at", "changed", "rejected");
    expect(model.noisePaths("r", 2)).toEqual(["$.id"]);
    expect(() => (model.noisePaths("r", 2) as string[]).push("$.x")).toThrow(); // frozen: no caller can change the shared list
  });

  it("loads from the SQLite store what earlier samples taught it, sample counts of quiet routes included", async () => {
    const temp = makeTempDir();
    const db = openDatabase(temp.dir);
    try {
      const repo = createShadowRepository(db);
      const atMs = Date.now();
      const sample = { routeId: "r", atMs, outcome: "match" as const, signatures: [], noiseSample: { places: [{ path: "$.at", kind: "changed" }] } };
      const quiet = { routeId: "quiet", atMs, outcome: "match" as const, signatures: [], noiseSample: { places: [] } };
      repo.writeBatch([sample, sample, quiet], { examplesPerSignature: 5, signaturesPerRoute: 200, maxAgeDays: 7 });
      const model = await NoiseModel.load(sqliteShadowStore(repo), ["quiet"]);
      expect(model.samples("r")).toBe(2);
      expect(model.isNoise("r", "$.at", "changed", 2)).toBe(true);
      expect(model.isNoise("r", "$.at", "type_changed", 1)).toBe(false);
      expect(model.samples("quiet")).toBe(1);
    } finally {
      db.close();
      temp.remove();
    }
  });

  it("keeps noise by place and kind: an order learned at a path does not hide a type change there", () => {
    const model = new NoiseModel([], () => 0);
    for (let i = 0; i < 3; i++) model.observe("r", [{ path: "$.items", kind: "order" }]);
    expect(model.isNoise("r", "$.items", "order", 2)).toBe(true);
    expect(model.isNoise("r", "$.items", "type_changed", 2)).toBe(false);
    expect(model.noisePaths("r", 2)).toEqual(["$.items"]); // set aside for pairing; judged by kind after
    // A person's word on one kind holds for that kind; on `*`, for every kind at the path.
    model.setStatus("r", "$.items", "order", "rejected");
    expect(model.isNoise("r", "$.items", "order", 2)).toBe(false);
    model.setStatus("r", "$.at", "*", "confirmed");
    expect(model.isNoise("r", "$.at", "type_changed", 100)).toBe(true);
  });

  it("reads what was learned before kinds were kept (kind *) as noise of any kind at its path, as it was", () => {
    const model = new NoiseModel([{ routeId: "r", path: "$.at", kind: "*", occurrences: 5, status: "learned", lastSeen: "" }], () => 5);
    expect(model.isNoise("r", "$.at", "changed", 2)).toBe(true);
    expect(model.isNoise("r", "$.at", "type_changed", 2)).toBe(true);
    expect(model.isNoise("r", "$.at", "*", 2)).toBe(true);
    expect(model.isNoise("r", "$.at", "*", 6)).toBe(false);
  });
});
