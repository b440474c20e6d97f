import type { NoiseRecord, NoiseStatus } from "../store/shadow-repository.ts";
import type { ShadowStore } from "../store/shadow-store.ts";

interface RouteNoise {
  samples: number;
  readonly occurrences: Map<string, number>;
  readonly status: Map<string, NoiseStatus>;
  /** `noisePaths`' last answer, until the route's noise changes: the comparer asks for it on every pair. */
  noisePaths?: { readonly minOccurrences: number; readonly paths: readonly string[] } | undefined;
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * What is noise on each route, learned as Diffy does: the primary backend is asked twice for a sample
 * of shadowed reads, and a signature path that differs between two answers of the same backend at least
 * `minOccurrences` times is noise. A person can confirm a path (always noise) or reject it (never).
 * Kept in memory for the comparer, loaded from and written to the store.
 */
export class NoiseModel {
  readonly #routes = new Map<string, RouteNoise>();

  /** `samples` seeds the sample count of every route named in `records` or in `routeIds`. */
  constructor(records: readonly NoiseRecord[], samples: (routeId: string) => number, routeIds: Iterable<string> = []) {
    for (const routeId of routeIds) this.#route(routeId, samples);
    for (const r of records) {
      const route = this.#route(r.routeId, samples);
      route.occurrences.set(r.path, r.occurrences);
      route.status.set(r.path, r.status);
    }
  }

  /**
   * What the store learned so far: every noise path, and the sample counts of their routes and of
   * `routeIds` (the configured ones: a route whose own answers never differed has samples but no paths).
   */
  static async load(store: ShadowStore, routeIds: Iterable<string> = []): Promise<NoiseModel> {
    const records = await store.noise();
    const samples = new Map<string, number>();
    for (const routeId of new Set([...records.map((r) => r.routeId), ...routeIds])) samples.set(routeId, await store.noiseSamples(routeId));
    return new NoiseModel(records, (id) => samples.get(id) ?? 0, samples.keys());
  }

  #route(routeId: string, samples?: (routeId: string) => number): RouteNoise {
    let route = this.#routes.get(routeId);
    if (!route) {
      route = { samples: samples?.(routeId) ?? 0, occurrences: new Map(), status: new Map() };
      this.#routes.set(routeId, route);
    }
    return route;
  }

  samples(routeId: string): number {
    return this.#routes.get(routeId)?.samples ?? 0;
  }

  /** Whether the next shadowed read of the route should ask the primary twice. */
  wantsSample(routeId: string, warmupSamples: number, sampleRate: number): boolean {
    // Stryker disable next-line EqualityOperator: equivalent but for Math.random() returning exactly sampleRate, which no test can provoke
    return this.samples(routeId) < warmupSamples || Math.random() < sampleRate;
  }

  /** Records one primary-against-primary sample and the signature paths that differed in it. */
  observe(routeId: string, paths: readonly string[]): void {
    const route = this.#route(routeId);
    route.samples++;
    if (paths.length > 0) route.noisePaths = undefined;
    for (const path of new Set(paths)) {
      route.occurrences.set(path, (route.occurrences.get(path) ?? 0) + 1);
      // Stryker disable next-line StringLiteral: the model reads only confirmed/rejected; a learned path is one with any other status
      if (!route.status.has(path)) route.status.set(path, "learned");
    }
  }

  isNoise(routeId: string, path: string, minOccurrences: number): boolean {
    const route = this.#routes.get(routeId);
    const status = route?.status.get(path);
    if (status === "confirmed") return true;
    if (status === "rejected" || !route) return false;
    return (route.occurrences.get(path) ?? 0) >= minOccurrences;
  }

  /** The route's paths that are noise now (learned often enough, or confirmed), for the comparer to set aside. */
  noisePaths(routeId: string, minOccurrences: number): readonly string[] {
    const route = this.#routes.get(routeId);
    if (!route) return NONE;
    const cached = route.noisePaths;
    if (cached !== undefined && cached.minOccurrences === minOccurrences) return cached.paths;
    const paths = Object.freeze([...route.status.keys()].filter((path) => this.isNoise(routeId, path, minOccurrences)));
    route.noisePaths = { minOccurrences, paths };
    return paths;
  }

  setStatus(routeId: string, path: string, status: NoiseStatus): void {
    const route = this.#route(routeId);
    route.status.set(path, status);
    route.noisePaths = undefined;
  }
}
