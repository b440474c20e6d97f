import type { NoiseRecord, NoiseStatus, ShadowRepository } from "../store/shadow-repository.ts";

interface RouteNoise {
  samples: number;
  readonly occurrences: Map<string, number>;
  readonly status: Map<string, NoiseStatus>;
}

/**
 * What is noise on each route, learned as Diffy does: the primary backend is asked twice for a sample
 * of shadowed reads, and a signature path that differs between two answers of the same backend at least
 * `minOccurrences` times is noise. A person can confirm a path (always noise) or reject it (never).
 * Kept in memory for the comparer, loaded from and written to the store.
 */
export class NoiseModel {
  readonly #routes = new Map<string, RouteNoise>();

  constructor(records: readonly NoiseRecord[], samples: (routeId: string) => number) {
    for (const r of records) {
      const route = this.#route(r.routeId, samples);
      route.occurrences.set(r.path, r.occurrences);
      route.status.set(r.path, r.status);
    }
  }

  static load(repository: ShadowRepository): NoiseModel {
    return new NoiseModel(repository.noise(), (id) => repository.noiseSamples(id));
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
  noisePaths(routeId: string, minOccurrences: number): string[] {
    const route = this.#routes.get(routeId);
    if (!route) return [];
    return [...route.status.keys()].filter((path) => this.isNoise(routeId, path, minOccurrences));
  }

  setStatus(routeId: string, path: string, status: NoiseStatus): void {
    this.#route(routeId).status.set(path, status);
  }
}
