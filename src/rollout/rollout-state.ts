import type { RolloutRecord } from "../store/rollout-repository.ts";
import type { RolloutStore } from "../store/rollout-store.ts";

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
 * An in-memory copy of the rollout table, so that no request waits for the store. `refresh()` re-reads
 * it (after this process writes, and when another process or node has written) and tells listeners what
 * changed. Empty until the first refresh.
 */
export class RolloutState implements RolloutReader {
  #live = new Map<string, RolloutRecord>();
  readonly #listeners = new Set<(routeIds: readonly string[]) => void>();

  constructor(private readonly store: Pick<RolloutStore, "all">) {}

  get(routeId: string): LiveRollout | undefined {
    return this.#live.get(routeId);
  }

  /** The route's whole record as last read: who changed it, when and why. */
  record(routeId: string): RolloutRecord | undefined {
    return this.#live.get(routeId);
  }

  onChange(listener: (routeIds: readonly string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Re-reads the table; returns (and announces) the routes whose percentage or salt changed. */
  async refresh(): Promise<string[]> {
    const next = new Map<string, RolloutRecord>();
    const changed: string[] = [];
    for (const record of await this.store.all()) {
      const before = this.#live.get(record.routeId);
      if (!before || before.percent !== record.percent || before.salt !== record.salt) changed.push(record.routeId);
      next.set(record.routeId, record);
    }
    this.#live = next;
    if (changed.length > 0) for (const listener of this.#listeners) listener(changed);
    return changed;
  }
}
