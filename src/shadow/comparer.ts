import { Piscina } from "piscina";
import { RawHead } from "../proxy/raw-head.ts";
import { compareExchange, comparesWithoutParsing, type ComparedSide, type ComparisonRequest, type ComparisonResult } from "./compare-exchange.ts";

export interface ComparerOptions {
  /** Comparisons waiting or running at once; beyond it a new one is refused (counted as overload). Default 256. */
  readonly maxQueued?: number;
  /** Pairs whose bodies add up to more than this are compared in a worker thread. Default 256 KiB. */
  readonly workerThresholdBytes?: number;
  /** Worker threads for large comparisons. Default 1 (the data plane keeps the other core). */
  readonly maxThreads?: number;
  /**
   * Heap the worker may use for the documents it parses, in bytes; a pair that needs more ends the
   * worker (its comparison is an error outcome, and a fresh worker takes the next one). Default 64 MiB.
   */
  readonly workerHeapBytes?: number;
}

/**
 * Compares response pairs off the hot path: small ones, and large ones whose bodies are byte-identical, on
 * a later turn of the event loop; large ones that differ in a worker pool.
 */
export interface Comparer {
  /**
   * Starts a comparison, or returns undefined when the queue is full. A large pair goes to the worker,
   * which also renders its `example`, off the main thread; a small pair is compared here on a later turn
   * without rendering one (the caller renders it from the bodies, which it still holds, if it keeps one).
   */
  compare(request: ComparisonRequest): Promise<ComparisonResult> | undefined;
  /**
   * `compare` for the hot path: the result goes to `listener` (exactly one of its methods, once), with no
   * promise made for it. False when the queue is full (nothing is started).
   */
  compareThen(request: ComparisonRequest, listener: ComparisonListener): boolean;
  readonly pending: number;
  close(): Promise<void>;
}

/** A side as plain data, its body an own property and its head an object: what the worker is sent (see CapturedAnswer). */
function plain(side: ComparedSide): ComparedSide {
  if (!side.ok) return side;
  const { status, headers, body, truncated } = side.response;
  // A raw head is made an object: the structured clone keeps no class (and its Buffers are views).
  return { ok: true, response: { status, headers: headers instanceof RawHead ? headers.toRecord() : headers, body, truncated } };
}

function sizeOf(request: ComparisonRequest): number {
  const side = (s: ComparedSide | undefined) => (s?.ok ? s.response.body.byteLength : 0);
  return side(request.left) + side(request.right) + side(request.noise?.again);
}

/** Told a comparison's result, or why there is none (a worker that died, a comparison that threw). */
export interface ComparisonListener {
  compared(result: ComparisonResult): void;
  failed(error: Error): void;
}

/** A small pair waiting for its turn, and who is told its result. */
interface SmallComparison {
  readonly request: ComparisonRequest;
  readonly listener: ComparisonListener;
}

/** Whether this module runs compiled (`npm run build`'s dist/) rather than from its TypeScript source. */
const COMPILED = import.meta.url.endsWith(".js");

export function createComparer(options: ComparerOptions = {}): Comparer {
  const maxQueued = options.maxQueued ?? 256;
  const threshold = options.workerThresholdBytes ?? 256 * 1024;
  let pool: Piscina | undefined;
  let pending = 0;

  const workerPool = (): Piscina => {
    pool ??= new Piscina({
      // Built (dist/), the worker is JavaScript beside this module; from the sources, it is TypeScript and
      // loads through tsx, whatever started this process.
      filename: new URL(COMPILED ? "./compare-worker.js" : "./compare-worker.ts", import.meta.url).href,
      execArgv: COMPILED ? [] : ["--import", "tsx"],
      maxThreads: options.maxThreads ?? 1,
      minThreads: 0,
      idleTimeout: 30_000,
      // V8 sizes a worker's heap generously and collects late; bounded, the parsed documents of past
      // comparisons cannot pile up past the shadow budget's share.
      resourceLimits: { maxOldGenerationSizeMb: Math.max(16, Math.round((options.workerHeapBytes ?? 64 * 1024 * 1024) / 1048576)), maxYoungGenerationSizeMb: 8 },
    });
    return pool;
  };

  const settled = (): void => {
    pending--;
  };
  // Small pairs wait here for the next turn, all of them compared in one setImmediate: a promise
  // executor, a timer callback and a `finally` closure per comparison showed in the shadow's profile.
  let turn: SmallComparison[] = [];
  const compareTurn = (): void => {
    const due = turn;
    turn = [];
    for (const small of due) {
      pending--;
      let result: ComparisonResult;
      try {
        // No example rendered here: the session renders one only if the evidence writer keeps it.
        result = compareExchange(small.request, false);
      } catch (error) {
        small.listener.failed(error as Error);
        continue;
      }
      small.listener.compared(result);
    }
  };

  const compareThen = (request: ComparisonRequest, listener: ComparisonListener): boolean => {
    if (pending >= maxQueued) return false;
    pending++;
    // A large pair goes to the worker, unless its bodies are the same bytes (a memcmp away from a verdict).
    if (!request.identicalBodies && sizeOf(request) > threshold && !comparesWithoutParsing(request)) {
      // The bodies are views on the shadow arena's SharedArrayBuffer (see byte-arena.ts): the worker
      // reads them in place, with nothing copied or transferred, and the session frees them after.
      const sent: ComparisonRequest = { ...request, left: plain(request.left), right: plain(request.right), ...(request.noise ? { noise: { ...request.noise, again: plain(request.noise.again) } } : {}) };
      (workerPool().run(sent) as Promise<ComparisonResult>).then(
        (result) => {
          settled();
          listener.compared(result);
        },
        (error: unknown) => {
          settled();
          listener.failed(error as Error);
        },
      );
      return true;
    }
    // Small pairs: on the next turn, after the response that produced them has been handled.
    if (turn.length === 0) setImmediate(compareTurn);
    turn.push({ request, listener });
    return true;
  };

  return {
    get pending() {
      return pending;
    },
    compareThen,
    compare(request) {
      let listener: ComparisonListener | undefined;
      const result = new Promise<ComparisonResult>((resolve, reject) => {
        listener = { compared: resolve, failed: reject };
      });
      return compareThen(request, listener as ComparisonListener) ? result : undefined;
    },
    async close() {
      await pool?.destroy();
    },
  };
}
