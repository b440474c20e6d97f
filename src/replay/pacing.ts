/**
 * How a replay run paces its requests: as recorded (the recorded gaps divided by `factor`, a gap longer
 * than `maxGapMs` cut to it), at a fixed rate, or as fast as a concurrency limit lets it. GoReplay's
 * users found that replaying "as fast as possible" measures the replayer, not the service: a run says
 * how it was paced and what rate it achieved.
 */
export type Pacing =
  | { readonly mode: "recorded"; readonly factor: number }
  | { readonly mode: "rate"; readonly perSecond: number }
  | { readonly mode: "concurrency"; readonly limit: number };

/** Checks a pacing from the API or the CLI; a message naming the field when it is wrong. */
export function pacingError(pacing: Pacing): string | undefined {
  switch (pacing.mode) {
    case "recorded":
      return Number.isFinite(pacing.factor) && pacing.factor > 0 && pacing.factor <= 1_000 ? undefined : "pacing.factor must be a number above 0 and at most 1000";
    case "rate":
      return Number.isFinite(pacing.perSecond) && pacing.perSecond > 0 && pacing.perSecond <= 100_000 ? undefined : "pacing.perSecond must be a number above 0 and at most 100000";
    case "concurrency":
      return Number.isInteger(pacing.limit) && pacing.limit >= 1 && pacing.limit <= 1_000 ? undefined : "pacing.limit must be an integer from 1 to 1000";
    default:
      return 'pacing.mode must be "recorded", "rate" or "concurrency"';
  }
}

/** The run's schedule: when each exchange, in recorded order, is due (ms after the run's start). */
export class Schedule {
  #offset = 0;
  #lastAt: number | undefined;
  #index = 0;

  constructor(
    readonly pacing: Pacing,
    private readonly maxGapMs: number,
  ) {}

  /** The next exchange's due time; every exchange is passed once, in order. */
  next(recordedAt: number): number {
    const index = this.#index++;
    switch (this.pacing.mode) {
      case "rate":
        return (index * 1_000) / this.pacing.perSecond;
      case "concurrency":
        return 0; // as soon as one of `limit` requests in flight has its answer
      case "recorded": {
        if (this.#lastAt !== undefined) this.#offset += Math.min(Math.max(0, recordedAt - this.#lastAt), this.maxGapMs) / this.pacing.factor;
        this.#lastAt = recordedAt;
        return this.#offset;
      }
    }
  }

  /** Requests in flight at once: the concurrency limit, within the run's bound. */
  inFlightLimit(maxInFlight: number): number {
    return this.pacing.mode === "concurrency" ? Math.min(this.pacing.limit, maxInFlight) : maxInFlight;
  }
}

/** Sends per window of `windowMs`: the achieved rate, reported next to the target so a run shows it kept pace. */
export class RateWindows {
  readonly #sent: number[] = [];
  constructor(private readonly windowMs = 10_000) {}

  sent(msSinceStart: number): void {
    const window = Math.floor(msSinceStart / this.windowMs);
    while (this.#sent.length <= window) this.#sent.push(0);
    this.#sent[window] = (this.#sent[window] ?? 0) + 1;
  }

  /** Each window's sends and rate; the last one's rate over the time it lasted (`endMs`). */
  windows(endMs: number): Array<{ readonly fromS: number; readonly sent: number; readonly perSecond: number }> {
    return this.#sent.map((sent, i) => {
      const from = i * this.windowMs;
      const length = Math.max(1, Math.min(this.windowMs, endMs - from));
      return { fromS: from / 1_000, sent, perSecond: Math.round((sent * 100_000) / length) / 100 };
    });
  }
}
