import { ANY_KIND, type NoisePlace, type NoiseRecord, type NoiseStatus } from "../store/shadow-repository.ts";
import type { ShadowStore } from "../store/shadow-store.ts";

interface RouteNoise {
  samples: number;
  /** By place (`placeKey`): how often it differed in a sample, and a person's (or the learner's) status. */
  readonly occurrences: Map<string, number>;
  readonly status: Map<string, NoiseStatus>;
  /** Each place (its path and kind), by its key. */
  readonly places: Map<string, NoisePlace>;
  /** `noisePaths`' last answer, until the route's noise changes: the comparer asks for it on every pair. */
  noisePaths?: { readonly minOccurrences: number; readonly paths: readonly string[] } | undefined;
}

const NONE: readonly string[] = Object.freeze([]);

/** A place's key: its kind and its path (`*` for any kind at the path). */
export const placeKey = (path: string, kind: string): string => `${kind}\u0000${path}`;

/**
 * What is noise on each route, learned as Diffy does: the primary backend is asked twice for a sample
 * of shadowed reads, and a place (a signature path and a kind of difference) that differs between two
 * answers of the same backend at least `minOccurrences` times is noise there, of that kind only: a list
 * whose order varies is `order` noise at `$.items`, and a `type_changed $.items` is still a divergence.
 * A person can confirm a place (always noise) or reject it (never), for one kind or for any (`*`, also
 * what was learned before kinds were kept).
 * Kept in memory for the comparer, loaded from and written to the store.
 */
export class NoiseModel {
  readonly #routes = new Map<string, RouteNoise>();

  /** `samples` seeds the sample count of every route named in `records` or in `routeIds`. */
  constructor(records: readonly NoiseRecord[], samples: (routeId: string) => number, routeIds: Iterable<string> = []) {
    for (const routeId of routeIds) this.#route(routeId, samples);
    for (const r of records) {
      const route = this.#route(r.routeId, samples);
      const key = placeKey(r.path, r.kind);
      route.occurrences.set(key, r.occurrences);
      route.status.set(key, r.status);
      route.places.set(key, { path: r.path, kind: r.kind });
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
      route = { samples: samples?.(routeId) ?? 0, occurrences: new Map(), status: new Map(), places: new Map() };
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

  /** Records one primary-against-primary sample and the places (signature path and kind) that differed in it. */
  observe(routeId: string, places: readonly NoisePlace[]): void {
    const route = this.#route(routeId);
    route.samples++;
    if (places.length > 0) route.noisePaths = undefined;
    const seen = new Set<string>();
    for (const place of places) {
      const key = placeKey(place.path, place.kind);
      if (seen.has(key)) continue;
      seen.add(key);
      route.occurrences.set(key, (route.occurrences.get(key) ?? 0) + 1);
      route.places.set(key, place);
      // Stryker disable next-line StringLiteral: the model reads only confirmed/rejected; a learned path is one with any other status
      if (!route.status.has(key)) route.status.set(key, "learned");
    }
  }

  /**
   * Whether a difference of `kind` at `path` is noise: a person's word on that kind, else on any kind at the
   * path, decides; else the samples in which that kind (or, learned before kinds were kept, any) differed there.
   * A different status or a side with no answer is never noise.
   */
  isNoise(routeId: string, path: string, kind: string, minOccurrences: number): boolean {
    if (kind === "status" || kind === "error") return false;
    const route = this.#routes.get(routeId);
    if (!route) return false;
    const exact = placeKey(path, kind);
    const any = placeKey(path, ANY_KIND);
    for (const key of kind === ANY_KIND ? [any] : [exact, any]) {
      const status = route.status.get(key);
      if (status === "confirmed") return true;
      if (status === "rejected") return false;
    }
    const occurrences = (route.occurrences.get(exact) ?? 0) + (kind === ANY_KIND ? 0 : (route.occurrences.get(any) ?? 0));
    return occurrences >= minOccurrences;
  }

  /**
   * The route's paths where some kind of difference is noise now (learned often enough, or confirmed), for
   * the comparer to set aside while pairing array elements and counting against its cap (what it then
   * reports there is still judged by kind, with isNoise).
   */
  noisePaths(routeId: string, minOccurrences: number): readonly string[] {
    const route = this.#routes.get(routeId);
    if (!route) return NONE;
    const cached = route.noisePaths;
    if (cached !== undefined && cached.minOccurrences === minOccurrences) return cached.paths;
    const paths = new Set<string>();
    for (const { path, kind } of route.places.values()) if (this.isNoise(routeId, path, kind, minOccurrences)) paths.add(path);
    const frozen = Object.freeze([...paths]);
    route.noisePaths = { minOccurrences, paths: frozen };
    return frozen;
  }

  setStatus(routeId: string, path: string, kind: string, status: NoiseStatus): void {
    const route = this.#route(routeId);
    const key = placeKey(path, kind);
    route.status.set(key, status);
    route.places.set(key, { path, kind });
    route.noisePaths = undefined;
  }
}
