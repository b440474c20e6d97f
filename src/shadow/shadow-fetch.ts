import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import type { Span } from "@opentelemetry/api";
import { errors, type Dispatcher } from "undici";
import { endSpan } from "../proxy/tracing.ts";
import { RawHead } from "../proxy/raw-head.ts";
import { classifyUpstreamError } from "../proxy/upstream-error.ts";
import type { BoundedCapture } from "./bounded-capture.ts";
import type { CapturedResponse, ComparedSide } from "./compare-exchange.ts";
import type { MirrorCapture } from "./mirror-capture.ts";

/** Where an answer's bytes are kept for its comparison. */
export type Capture = BoundedCapture | MirrorCapture;

/** One side fetched for a comparison: its answer (or why there is none), how long it took, its bytes. */
export interface FetchedSide {
  readonly side: ComparedSide;
  readonly ms: number;
  readonly capture?: Capture;
}

/** Told once when a fetch is over (the shadow session that started it). */
export interface FetchListener {
  fetched(fetch: ShadowFetch, fetched: FetchedSide, noise: boolean): void;
}

/**
 * A captured answer whose body is asked of the capture only when read: a pair whose bodies were found
 * identical as they streamed is compared on status and headers, and its mirror's bytes are never read.
 * A class (the getter on its prototype) because an object literal with a getter is slow to create; its
 * body is therefore not an own property, and the comparer copies it into a plain object for the worker.
 */
export class CapturedAnswer implements CapturedResponse {
  readonly truncated: boolean;
  readonly #capture: Capture;
  /** The body once read: a comparison reads it several times (its size, a byte comparison, the decoding), each a new view otherwise. */
  #body: Buffer | undefined;

  constructor(
    readonly status: number,
    readonly headers: CapturedResponse["headers"],
    capture: Capture,
  ) {
    this.truncated = capture.truncated;
    this.#capture = capture;
  }

  /** Read once every side of the pair is complete (the comparison), when the capture no longer changes. */
  get body(): Buffer {
    return (this.#body ??= this.#capture.bytes());
  }
}

/**
 * A shadow (or noise) request as undici's dispatch handler: the answer's chunks go straight into the
 * bounded capture, and reading stops (the exchange is aborted) once the capture is full or over the
 * byte budget; `abort()` abandons it (the session was skipped).
 *
 * Why not `pool.request` with an AbortController and `for await` over its body: the controller, its
 * signal's listeners, the body stream and a promise per chunk made a shadowed request cost well over
 * twice a pass-through one in `npm run bench`; this is the same exchange without them. It speaks the
 * handler interface undici's client calls itself (onConnect, onHeaders with the raw head, onData,
 * onComplete, onError), as the data plane's upstream attempt does (see forward.ts for why).
 */
export class ShadowFetch implements Dispatcher.DispatchHandler {
  #abortUpstream: ((reason: Error) => void) | undefined = undefined;
  #abandoned = false;
  /** The capture filled up (or the budget ran out): the answer is kept as far as it went. */
  #stopped = false;
  #head: { status: number; headers: RawHead } | undefined = undefined;
  #settled = false;

  constructor(
    private readonly backendName: string,
    private readonly capture: Capture,
    private readonly started: number,
    private readonly span: Span | undefined,
    private readonly session: FetchListener,
    /** Whether this is the noise sample (the primary asked again) rather than the shadow. */
    private readonly noise: boolean,
  ) {}

  #settle(fetched: FetchedSide): void {
    this.session.fetched(this, fetched, this.noise);
  }

  /** Abandons the exchange: it settles as "aborted". */
  abort(): void {
    this.#abandoned = true;
    this.#abortUpstream?.(new errors.RequestAbortedError("shadow session abandoned"));
  }

  onConnect(abort: (reason: Error) => void): void {
    this.#abortUpstream = abort;
    if (this.#abandoned) abort(new errors.RequestAbortedError("shadow session abandoned"));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // informational: the real answer follows
    // Kept raw: the comparison reads a few of its fields, by name (see RawHead).
    const headers = new RawHead(rawHeaders);
    this.#head = { status: statusCode, headers };
    this.capture.expect(headers.contentLength());
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#stopped) return true;
    this.capture.add(chunk);
    if (this.capture.truncated || this.capture.overBudget) {
      this.#stopped = true;
      this.#succeed(); // what was read is the answer; the rest is not read
      this.#abortUpstream?.(new errors.RequestAbortedError("shadow capture full"));
    }
    return true;
  }

  onComplete(): void {
    this.#succeed();
  }

  onError(error: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    this.capture.release();
    const failure = this.#abandoned ? "aborted" : classifyUpstreamError(error, this.backendName).code;
    if (this.span) endSpan(this.span, undefined, failure);
    this.#settle({ side: { ok: false, error: failure }, ms: performance.now() - this.started });
  }

  #succeed(): void {
    const head = this.#head;
    if (this.#settled || !head) return;
    this.#settled = true;
    const side: ComparedSide = { ok: true, response: new CapturedAnswer(head.status, head.headers, this.capture) };
    if (this.span) endSpan(this.span, head.status);
    this.#settle({ side, ms: performance.now() - this.started, capture: this.capture });
  }
}
