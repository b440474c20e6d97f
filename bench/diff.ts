/**
 * `npm run bench:diff`: what the comparer costs per pair for a 1 MB array of objects, the most common
 * shape of a large API answer, in the ways two answers differ: identical (byte-equal, never diffed), one
 * field changed, two elements swapped, one element removed, every element reordered with a noisy
 * timestamp (paired by the automatic `id` key, and by identity with automatic keys off), the same before
 * the timestamp is learned as noise (paired by similarity), and an `id`-keyed list. Medians over repeated runs, in one process; compare against the
 * same script on an older commit to see a change's cost.
 */
import { signaturePath } from "../src/json/json-path.ts";
import { compileDiffRules, diffJson, type DiffRules } from "../src/shadow/json-diff.ts";

type Item = { id: number; name: string; price: number; tags: string[]; updatedAt: string };
const N = 10_000;
const base: Item[] = Array.from({ length: N }, (_, i) => ({ id: i, name: `item ${i}`, price: i * 1.5, tags: ["a", "b"], updatedAt: new Date(1_700_000_000_000 + i).toISOString() }));
const text = JSON.stringify(base);
console.log(`pair: 2 × ${(text.length / 1048576).toFixed(2)} MB, ${N} objects each`);

function clone(): Item[] {
  return JSON.parse(text) as Item[];
}
const cases: Array<{ name: string; right: () => Item[]; rules: DiffRules }> = [
  { name: "one field changed", right: () => { const r = clone(); (r[N / 2] as Item).price = -1; return r; }, rules: {} },
  { name: "two elements swapped", right: () => { const r = clone(); [r[10], r[20]] = [r[20] as Item, r[10] as Item]; return r; }, rules: {} },
  { name: "one element removed", right: () => { const r = clone(); r.splice(N / 3, 1); return r; }, rules: {} },
  { name: "reversed, noisy timestamps ignored", right: () => clone().reverse().map((e) => ({ ...e, updatedAt: "x" })), rules: { ignore: ["$[*].updatedAt"] } },
  { name: "no key: one field changed", right: () => { const r = clone(); (r[N / 2] as Item).price = -1; return r; }, rules: { keyNames: [] } },
  { name: "no key: reversed, noisy timestamps", right: () => clone().reverse().map((e) => ({ ...e, updatedAt: "x" })), rules: { keyNames: [], ignore: ["$[*].updatedAt"] } },
  // Before the noise is learned: every element's timestamp differs, so identity pairs none and similarity
  // pairs them all (by name, price and id's other fields).
  { name: "no key: reversed, noise not yet learned", right: () => clone().reverse().map((e) => ({ ...e, updatedAt: "x" })), rules: { keyNames: [] } },
  { name: "no key: in place, noise not yet learned", right: () => clone().map((e) => ({ ...e, updatedAt: "x" })), rules: { keyNames: [] } },
  { name: "keyed by id, shuffled", right: () => { const r = clone(); r.push(r.shift() as Item); return r; }, rules: { arrays: [{ path: "$", key: "id" }] } },
];

const ROUNDS = Number(process.env.ROUNDS ?? 15);
for (const c of cases) {
  const right = JSON.stringify(c.right());
  const rules = compileDiffRules(c.rules);
  const times: number[] = [];
  let found = 0;
  let signatures = "";
  for (let i = 0; i < ROUNDS; i++) {
    // Parsing is part of every comparison: measured with the diff, as the worker does it.
    const started = performance.now();
    const differences = diffJson(JSON.parse(text), JSON.parse(right), rules);
    found = differences.length;
    signatures = [...new Set(differences.map((d) => `${d.kind} ${signaturePath(d.path)}`))].join(", ");
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(`${c.name.padEnd(36)} ${(times[Math.floor(times.length / 2)] as number).toFixed(1).padStart(7)} ms/pair   (${found} differences: ${signatures.length > 90 ? `${signatures.slice(0, 89)}…` : signatures})`);
}
