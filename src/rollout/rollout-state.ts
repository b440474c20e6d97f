import type { RolloutRecord, RolloutRepository } from "../store/rollout-repository.ts";

/** What the data plane needs of a route's rollout, read synchronously on every request. */
export interface LiveRollout {
  readonly percent: number;
  readonly salt: string;
}

/** Read side of the live rollout state: a synchronous in-memory copy of the database. */
export interface RolloutReader {
  get(routeId: string): LiveRollout | undefined;
  /** Called with the ids of routes whose percentage or salt changed. Returns an unsubscribe function. */
  onChange(listener: (routeIds: readonly string[]) => void): () => void;
}

/**
 * An in-memory copy of the rollout table, so that no request waits for SQLite. `refresh()` re-reads it
 * (after this process writes, and when another process has written) and tells listeners what changed.
 */
export class RolloutState implements RolloutReader {
  #live = new Map<string, LiveRollout>();
  readonly #listeners = new Set<(routeIds: readonly string[]) => void>();

  constructor(private readonly repository: Pick<RolloutRepository, "all">) {
    this.refresh();
  }

  get(routeId: string): LiveRollout | undefined {
    return this.#live.get(routeId);
  }

  onChange(listener: (routeIds: readonly string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Re-reads the table; returns (and announces) the routes that changed. */
  refresh(): string[] {
    const next = new Map<string, LiveRollout>();
    const changed: string[] = [];
    for (const record of this.repository.all() as RolloutRecord[]) {
      const live = { percent: record.percent, salt: record.salt };
      const before = this.#live.get(record.routeId);
      if (!before || before.percent !== live.percent || before.salt !== live.salt) changed.push(record.routeId);
      next.set(record.routeId, live);
    }
    this.#live = next;
    if (changed.length > 0) for (const listener of this.#listeners) listener(changed);
    return changed;
  }
}
