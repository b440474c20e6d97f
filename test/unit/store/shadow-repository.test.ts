import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../../src/store/database.ts";
import { createShadowRepository, type ShadowRepository } from "../../../src/store/shadow-repository.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";

const retention = { examplesPerSignature: 5, signaturesPerRoute: 200, maxAgeDays: 7 };

describe("shadow evidence in SQLite", () => {
  let temp: ReturnType<typeof makeTempDir>;
  let db: ReturnType<typeof openDatabase>;
  let repo: ShadowRepository;
  beforeEach(() => {
    temp = makeTempDir();
    db = openDatabase(temp.dir);
    repo = createShadowRepository(db);
  });
  afterEach(() => {
    db.close();
    temp.remove();
  });

  it("a noise path is counted once per sample, however many positions of the sample differed (as in memory)", () => {
    const atMs = Date.now();
    // One sample in which $.items[*].at differed at two positions: after a restart it must not already be
    // noise at minOccurrences 2.
    repo.writeBatch([{ routeId: "r", atMs, outcome: "match", signatures: [], noiseSample: { places: [{ path: "$.items[*].at", kind: "changed" }, { path: "$.items[*].at", kind: "changed" }] } }], retention);
    expect(repo.noise("r")).toEqual([expect.objectContaining({ path: "$.items[*].at", occurrences: 1 })]);
    expect(repo.noiseSamples("r")).toBe(1);
  });

  it("a batch is summed: counts per outcome and signature are exact however many items name them", () => {
    const atMs = Date.now();
    const item = { routeId: "r", atMs, outcome: "diverge" as const, signatures: [{ path: "$.price", kind: "type_changed" }] };
    repo.writeBatch(Array.from({ length: 300 }, () => item), retention);
    repo.writeBatch([item, { ...item, outcome: "match" as const, signatures: [] }], retention);
    expect(repo.outcomes("r", 0)).toMatchObject({ diverge: 301, match: 1 });
    expect(repo.signatures("r")).toEqual([expect.objectContaining({ path: "$.price", kind: "type_changed", count: 301 })]);
  });
});
