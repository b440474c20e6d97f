/** How many array paths are remembered per route: a bound, since paths come from response bodies. */
const PATHS_PER_ROUTE = 50;

/**
 * Which arrays of each route's answers were paired by an automatic key (`compare.keyNames`), so the
 * shadow report can say how its differences were found. In memory; rebuilt from traffic after a restart.
 */
export class ArrayPairings {
  readonly #routes = new Map<string, Map<string, { key: string; lastSeen: number }>>();

  note(routeId: string, pairings: ReadonlyArray<{ readonly path: string; readonly key: string }>): void {
    let paths = this.#routes.get(routeId);
    if (!paths) {
      paths = new Map();
      this.#routes.set(routeId, paths);
    }
    for (const { path, key } of pairings) {
      if (!paths.has(path) && paths.size >= PATHS_PER_ROUTE) continue;
      paths.set(path, { key, lastSeen: Date.now() });
    }
  }

  /** The route's automatically keyed arrays, with the key and when a comparison last used it. */
  of(routeId: string): Array<{ path: string; key: string; automatic: true; lastSeen: string }> {
    return [...(this.#routes.get(routeId) ?? new Map<string, { key: string; lastSeen: number }>())].map(([path, p]) => ({ path, key: p.key, automatic: true as const, lastSeen: new Date(p.lastSeen).toISOString() }));
  }
}
