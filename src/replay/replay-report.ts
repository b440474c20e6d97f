import { wilsonUpperBound } from "../guard/statistics.ts";
import { signaturePath } from "../json/json-path.ts";
import { readableDiff } from "../admin/readable-diff.ts";
import type { Difference } from "../shadow/json-diff.ts";
import type { Pacing } from "./pacing.ts";

export type ExchangeVerdict = "match" | "diverge" | "error";

/**
 * A difference's signature, as the report groups by it: its path with array indexes made `[*]` (none for
 * a status), and its kind. One spelling, for the examples held during the run and the groups at its end.
 */
function signatureOf(d: Difference): { readonly path: string; readonly key: string } {
  const path = d.kind === "status" ? "" : signaturePath(d.path);
  return { path, key: `${path}\u0000${d.kind}` };
}

/** What one replayed exchange came to, as the report counts it. */
export type ExchangeOutcome =
  | { readonly kind: "compared"; readonly differences: readonly Difference[]; readonly correlated: number; readonly noise?: number; readonly example: ExchangeExample }
  | { readonly kind: "auth_failure" | "timeout" | "error"; readonly example: ExchangeExample }
  /** The fresh monolith answered with another status than the recorded one: the data moved on; not judged. */
  | { readonly kind: "stale" };

/** One exchange as the report shows it (all of it redacted: the recording's values, and the candidate's redacted the same way). */
export interface ExchangeExample {
  readonly exchangeId: number;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly recordedStatus: number;
  readonly candidateStatus: number | null;
  readonly recordedBody: string;
  readonly candidateBody: string;
  readonly error?: string;
}

interface SignatureTally {
  readonly path: string;
  readonly kind: string;
  count: number;
  readonly differences: readonly Difference[];
  readonly example: ExchangeExample;
}

/** Characters of a body kept in a report's example. */
const EXAMPLE_CHARS = 2_000;
/** Differences of one exchange kept for the final tally (after the run's noise is known). */
const DIFFERENCES_KEPT = 20;
/** Flaky exchanges listed by name; more are counted. */
const FLAKY_LISTED = 50;
/**
 * Exchanges whose bodies are held for the report's examples: a run of 100,000 exchanges must not hold
 * 100,000 pairs of bodies. A signature's example is the first exchange that showed it, so the bodies of
 * an exchange are held only when it shows a signature no exchange before it did, up to this many.
 */
const EXAMPLES_HELD = 1_000;

export interface ReplayReport {
  readonly run: number;
  readonly recordings: readonly number[];
  readonly routes: readonly string[];
  readonly target: string;
  readonly sandbox: boolean;
  readonly status: "passed" | "failed" | "aborted";
  /** Why it did not pass, in a sentence (or why it passed). */
  readonly verdict: string;
  readonly counts: {
    readonly exchanges: number;
    readonly sent: number;
    readonly compared: number;
    readonly matched: number;
    readonly diverged: number;
    readonly authFailures: number;
    readonly timeouts: number;
    readonly errors: number;
    readonly truncated: number;
    readonly skippedWrites: number;
    readonly stale: number;
    readonly flaky: number;
    /** Id fields a replayed write made, found where the recorded ones were: correlated, not divergent. */
    readonly correlatedFields: number;
    /** Differences set aside as noise (learned live, or seen between the recorded and a fresh monolith answer). */
    readonly noiseDifferences: number;
  };
  /** matched / (matched + diverged + authFailures + timeouts + errors); flaky and stale exchanges left out. */
  readonly passRate: number | null;
  /** The Wilson score lower bound (95%) of the pass rate. */
  readonly passRateLowerBound: number | null;
  readonly required: { readonly minExchanges: number; readonly minPassLowerBound: number };
  readonly latencyMs: { readonly candidate: Quantiles; readonly recorded: Quantiles };
  readonly signatures: ReadonlyArray<{ readonly path: string; readonly kind: string; readonly count: number; readonly diff: readonly string[]; readonly example: ExchangeExample }>;
  /** Signatures past `replay.maxSignatures`: counted here, not listed. */
  readonly signaturesNotListed: number;
  readonly failures: ReadonlyArray<{ readonly kind: string; readonly count: number; readonly example: ExchangeExample }>;
  readonly flaky: ReadonlyArray<{ readonly exchangeId: number; readonly method: string; readonly path: string; readonly previous: ExchangeVerdict; readonly now: ExchangeVerdict }>;
  /** Paths set aside as noise for this run (from the fresh monolith answers). */
  readonly runNoise: readonly string[];
  readonly pacing: Pacing & { readonly windows: ReadonlyArray<{ readonly fromS: number; readonly sent: number; readonly perSecond: number }> };
  readonly durationMs: number;
}

export interface Quantiles {
  readonly count: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

function quantiles(values: number[]): Quantiles {
  if (values.length === 0) return { count: 0, p50: null, p95: null, p99: null };
  const sorted = values.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

const cut = (text: string) => (text.length > EXAMPLE_CHARS ? `${text.slice(0, EXAMPLE_CHARS - 1)}…` : text);

/** Tallies a run's outcomes as they come, and writes the report once the run's noise is known. */
export class ReportBuilder {
  readonly #compared: Array<{ readonly exchangeId: number; readonly differences: readonly Difference[]; readonly example: ExchangeExample }> = [];
  readonly #failures = new Map<string, { count: number; example: ExchangeExample }>();
  readonly #failed = new Map<number, ExchangeExample>();
  readonly #candidateMs: number[] = [];
  readonly #recordedMs: number[] = [];
  readonly #runNoise = new Set<string>();
  /** Signatures (path and kind) shown by an exchange so far, and the exchanges whose bodies are held for examples. */
  readonly #signaturesSeen = new Set<string>();
  #examplesHeld = 0;
  exchanges = 0;
  sent = 0;
  truncated = 0;
  skippedWrites = 0;
  stale = 0;
  correlated = 0;
  /** Differences set aside as noise the live comparison learned (before they reached the tally). */
  liveNoise = 0;
  authFailures = 0;

  /** Paths where the recorded and a fresh monolith answer differ: noise for the whole run. */
  noise(paths: Iterable<string>): void {
    for (const path of paths) this.#runNoise.add(path);
  }

  add(exchange: { id: number; latencyMs: number }, outcome: ExchangeOutcome, candidateMs: number | undefined): void {
    if (candidateMs !== undefined) {
      this.#candidateMs.push(candidateMs);
      this.#recordedMs.push(exchange.latencyMs);
    }
    switch (outcome.kind) {
      case "stale":
        this.stale++;
        return;
      case "compared": {
        this.correlated += outcome.correlated;
        this.liveNoise += outcome.noise ?? 0;
        const differences = outcome.differences.slice(0, DIFFERENCES_KEPT);
        // Whether this exchange is the first to show one of its signatures (what a report's example is).
        let first = false;
        for (const d of differences) {
          const { key } = signatureOf(d);
          if (!this.#signaturesSeen.has(key) && this.#signaturesSeen.size < EXAMPLES_HELD * 100) {
            this.#signaturesSeen.add(key);
            first = true;
          }
        }
        const held = first && this.#examplesHeld < EXAMPLES_HELD;
        if (held) this.#examplesHeld++;
        const example = held ? { ...outcome.example, recordedBody: cut(outcome.example.recordedBody), candidateBody: cut(outcome.example.candidateBody) } : { ...outcome.example, recordedBody: "", candidateBody: "" };
        this.#compared.push({ exchangeId: exchange.id, differences, example });
        return;
      }
      default: {
        if (outcome.kind === "auth_failure") this.authFailures++;
        const tally = this.#failures.get(outcome.kind);
        if (tally) tally.count++;
        else this.#failures.set(outcome.kind, { count: 1, example: outcome.example });
        this.#failed.set(exchange.id, outcome.example);
      }
    }
  }

  /** The verdict of every exchange judged, once the run's noise is known (what the next run's flaky ones are found against). */
  verdicts(): Record<string, ExchangeVerdict> {
    const verdicts: Record<string, ExchangeVerdict> = {};
    for (const c of this.#compared) verdicts[c.exchangeId] = this.#real(c.differences).length > 0 ? "diverge" : "match";
    for (const id of this.#failed.keys()) verdicts[id] = "error";
    return verdicts;
  }

  #real(differences: readonly Difference[]): Difference[] {
    if (this.#runNoise.size === 0) return [...differences];
    return differences.filter((d) => d.kind === "status" || d.kind === "error" || !this.#runNoise.has(signaturePath(d.path)));
  }

  /** The report: `previous` is the last run's verdicts against the same target (flaky exchanges are listed, not counted). */
  report(header: { run: number; recordings: readonly number[]; routes: readonly string[]; target: string; sandbox: boolean; pacing: ReplayReport["pacing"]; durationMs: number; required: ReplayReport["required"]; maxSignatures: number; aborted?: string }, previous: Readonly<Record<string, ExchangeVerdict>> | undefined): { report: ReplayReport; verdicts: Record<string, ExchangeVerdict> } {
    const verdicts = this.verdicts();
    const flaky: Array<ReplayReport["flaky"][number]> = [];
    const flakyIds = new Set<number>();
    const exampleOf = (id: number) => this.#compared.find((c) => c.exchangeId === id)?.example ?? this.#failed.get(id);
    if (previous) {
      for (const [id, now] of Object.entries(verdicts)) {
        const before = previous[id];
        if (before === undefined || before === now) continue;
        flakyIds.add(Number(id));
        if (flaky.length < FLAKY_LISTED) {
          const example = exampleOf(Number(id));
          flaky.push({ exchangeId: Number(id), method: example?.method ?? "?", path: example?.path ?? "?", previous: before, now });
        }
      }
    }
    let matched = 0;
    let diverged = 0;
    let noiseDifferences = this.liveNoise;
    const signatures = new Map<string, SignatureTally>();
    for (const c of this.#compared) {
      if (flakyIds.has(c.exchangeId)) continue;
      const real = this.#real(c.differences);
      noiseDifferences += c.differences.length - real.length;
      if (real.length === 0) {
        matched++;
        continue;
      }
      diverged++;
      for (const d of real) {
        const { path, key } = signatureOf(d);
        const known = signatures.get(key);
        if (known) known.count++;
        else signatures.set(key, { path, kind: d.kind, count: 1, differences: real, example: c.example });
      }
    }
    let failures = 0;
    const counted = { timeouts: 0, errors: 0 };
    for (const [id] of this.#failed) if (!flakyIds.has(id)) failures++;
    for (const [kind, tally] of this.#failures) {
      if (kind === "timeout") counted.timeouts = tally.count;
      if (kind === "error") counted.errors = tally.count;
    }
    const trials = matched + diverged + failures;
    const passRate = trials > 0 ? matched / trials : null;
    const lowerBound = trials > 0 ? Math.round((1 - wilsonUpperBound(trials - matched, trials)) * 10_000) / 10_000 : null;
    const sorted = [...signatures.values()].sort((a, b) => b.count - a.count);
    const { minExchanges, minPassLowerBound } = header.required;
    let status: ReplayReport["status"];
    let verdict: string;
    if (header.aborted) {
      status = "aborted";
      verdict = header.aborted;
    } else if (trials < minExchanges) {
      status = "failed";
      verdict = `too few exchanges judged: ${trials} < ${minExchanges} (routes[].replay.minExchanges)`;
    } else if ((lowerBound ?? 0) < minPassLowerBound) {
      status = "failed";
      verdict = `pass rate ${pct(passRate ?? 0)} over ${trials} exchanges: its Wilson lower bound (95%) ${pct(lowerBound ?? 0)} is under the ${pct(minPassLowerBound)} required; ${diverged} diverged, ${failures} failed`;
    } else {
      status = "passed";
      verdict = `pass rate ${pct(passRate ?? 0)} over ${trials} exchanges: its Wilson lower bound (95%) ${pct(lowerBound ?? 0)} is at least the ${pct(minPassLowerBound)} required`;
    }
    const report: ReplayReport = {
      run: header.run,
      recordings: header.recordings,
      routes: header.routes,
      target: header.target,
      sandbox: header.sandbox,
      status,
      verdict,
      counts: {
        exchanges: this.exchanges,
        sent: this.sent,
        compared: matched + diverged,
        matched,
        diverged,
        authFailures: this.authFailures,
        timeouts: counted.timeouts,
        errors: counted.errors,
        truncated: this.truncated,
        skippedWrites: this.skippedWrites,
        stale: this.stale,
        flaky: flakyIds.size,
        correlatedFields: this.correlated,
        noiseDifferences,
      },
      passRate: passRate === null ? null : Math.round(passRate * 10_000) / 10_000,
      passRateLowerBound: lowerBound,
      required: header.required,
      latencyMs: { candidate: quantiles(this.#candidateMs), recorded: quantiles(this.#recordedMs) },
      signatures: sorted.slice(0, header.maxSignatures).map((s) => ({ path: s.path, kind: s.kind, count: s.count, diff: readableDiff(s.differences.filter((d) => signatureOf(d).path === s.path && d.kind === s.kind)), example: s.example })),
      signaturesNotListed: Math.max(0, sorted.length - header.maxSignatures),
      failures: [...this.#failures].map(([kind, t]) => ({ kind, count: t.count, example: t.example })),
      flaky,
      runNoise: [...this.#runNoise].sort(),
      pacing: header.pacing,
      durationMs: header.durationMs,
    };
    return { report, verdicts };
  }
}

const pct = (x: number) => `${(Math.round(x * 1_000) / 10).toString()}%`;
