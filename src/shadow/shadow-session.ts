import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import type { SpanContext } from "@opentelemetry/api";
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import type { ShadowConfig, ShadowingLimits } from "../config/schema.ts";
import type { BackendRole } from "../decision/decider.ts";
import type { ShadowMetrics, SkipReason } from "../metrics/shadow-metrics.ts";
import type { Backend } from "../proxy/backend-pool.ts";
import { hasBody } from "../proxy/has-body.ts";
import { teeBody } from "../proxy/tee-body.ts";
import type { RawHead } from "../proxy/raw-head.ts";
import { headersForBackend, upstreamHeadersFor } from "../proxy/headers.ts";
import { startShadowSpan } from "../proxy/tracing.ts";
import { classifyUpstreamError } from "../proxy/upstream-error.ts";
import type { EvidenceBatchItem } from "../store/shadow-repository.ts";
import type { ByteArena } from "./byte-arena.ts";
import type { DeadlineEntry, Deadlines } from "./deadlines.ts";
import { BoundedCapture } from "./bounded-capture.ts";
import { compareHeadsOfIdenticalBodies, exampleText, type ComparedSide, type ComparisonResult } from "./compare-exchange.ts";
import type { Comparer, ComparisonListener } from "./comparer.ts";
import type { EvidenceWriter } from "./evidence-writer.ts";
import { signaturePath } from "../json/json-path.ts";
import type { DiffRules, Difference } from "./json-diff.ts";
import { placeKey, type NoiseModel } from "./noise-model.ts";
import type { ArrayPairings } from "./array-pairings.ts";
import { redactorFor, type RedactionRules, type Redactor } from "../redaction/redactor.ts";
import { MirrorCapture } from "./mirror-capture.ts";
import { CapturedAnswer, ShadowFetch, type Capture, type FetchedSide } from "./shadow-fetch.ts";

/** What a session needs from the runner that made it. */
export interface SessionContext {
  readonly comparer: Comparer;
  readonly evidence: EvidenceWriter;
  readonly noise: NoiseModel;
  readonly metrics: ShadowMetrics;
  /** Where every capture's bytes live: `shadowing.maxBufferedBytes` of memory. */
  readonly budget: ByteArena;
  readonly limits: ShadowingLimits;
  /** What is never stored of an example, besides the defaults (`redaction` in the config). */
  readonly redaction: RedactionRules;
  /** Which arrays each route's comparisons paired by an automatic key, for the shadow report. */
  readonly pairings: ArrayPairings;
  /** Called exactly once when the session is over, whatever happened. */
  readonly onEnd: () => void;
  /** Where each session's last-resort deadline is kept (one timer for all of them). */
  readonly deadlines: Deadlines<ShadowSession>;
}

export interface SessionPlan {
  readonly routeId: string;
  readonly shadow: ShadowConfig;
  readonly primaryRole: BackendRole;
  readonly primary: Backend;
  /** The other backend (sent to on its destinations' shadow pools). */
  readonly shadowBackend: Backend;
  /** The primary backend again, for noise samples; undefined when this request is not one. */
  readonly noiseBackend: Backend | undefined;
  readonly req: IncomingMessage;
  readonly requestId: string;
  readonly path: string;
  readonly query: string;
  /** The path and query the route's target gets (its rewrite applied). */
  readonly targetPath: string;
  /** The Host the target gets in place of its own; undefined for its own. */
  readonly targetHost: string | undefined;
  /** The request's span, when traced (see tracing.ts). */
  readonly traceLink: SpanContext | undefined;
  /** `performance.now()` when the request arrived: the primary's latency counts from it, and the shadow's when it is sent at once (see #send). */
  readonly started: number;
}

const SHADOW_HEADER = "x-strangler-shadow";

/** A side whose bytes were mirrored against the primary's and found the same (an error side is not). */
const isIdentical = (capture: Capture | undefined): boolean => capture instanceof MirrorCapture && capture.identical;

/** A side that answered with more than its capture holds. */
const isTruncated = (fetched: FetchedSide | undefined): boolean => fetched !== undefined && fetched.side.ok && fetched.side.response.truncated;

const DIFFERENCES_PER_EXAMPLE = 50;
/** Of each signature's own differences, how many an example keeps besides the first 50 of all. */
const OWN_DIFFERENCES_PER_SIGNATURE = 5;

/**
 * The differences an example keeps: the first 50 of all, and each signature's own first few, wherever
 * they are (a signature past the first 50, `changed $.articlesCount` after 50 field changes in the
 * articles, must still find its own difference in its example). In their order; the store puts each
 * signature's own first in the example it keeps for it (see forSignature).
 */
function exampleDifferences(real: readonly Difference[], paths: readonly string[]): Difference[] {
  if (real.length <= DIFFERENCES_PER_EXAMPLE) return real.slice();
  const own = new Map<string, number>();
  const kept: Difference[] = [];
  real.forEach((d, i) => {
    const key = `${paths[i] as string}\u0000${d.kind}`;
    const n = own.get(key) ?? 0;
    own.set(key, n + 1);
    if (i < DIFFERENCES_PER_EXAMPLE || n < OWN_DIFFERENCES_PER_SIGNATURE) kept.push(d);
  });
  return kept;
}

/** The rules of a pair whose bodies are identical: they are never read. */
const NO_RULES: DiffRules = {};
const NO_PATHS: readonly string[] = Object.freeze([]);

/** Each route's rules as last built, by its shadow config (replaced on reload), with the noise paths they set aside. */
const rulesByConfig = new WeakMap<ShadowConfig, { readonly setAside: readonly string[]; readonly rules: DiffRules }>();

/**
 * One shadowed request: captures the request body and the primary's answer (bounded), sends the same
 * request to the other backend (and, for a noise sample, to the primary again) on the shadow pools,
 * then compares and records, all after the client's answer and never in its way.
 */
export class ShadowSession implements ComparisonListener {
  readonly #started: number;
  /** The shadow and noise exchanges under way, abandoned if the session is skipped (two fields: a Set per request showed in the profile). */
  #shadowFetch: ShadowFetch | undefined;
  #noiseFetch: ShadowFetch | undefined;
  readonly #primaryCapture: BoundedCapture;
  readonly #requestCapture: BoundedCapture | undefined;
  #primaryHead: { status: number; headers: RawHead } | undefined;
  #primary: FetchedSide | undefined;
  #shadow: FetchedSide | undefined;
  #noise: FetchedSide | undefined;
  #ended = false;
  /** This session's last-resort deadline, taken out when it ends. */
  readonly #deadline: DeadlineEntry<ShadowSession>;
  /** The upstream headers as first built, before any caller added to them (see headersFor). */
  #pristineHeaders: string[] | undefined;

  constructor(
    private readonly plan: SessionPlan,
    private readonly ctx: SessionContext,
  ) {
    this.#started = plan.started;
    this.#primaryCapture = new BoundedCapture(plan.shadow.maxResponseBytes, ctx.budget);
    this.#requestCapture = hasBody(plan.req) ? new BoundedCapture(plan.shadow.maxBodyBytes, ctx.budget) : undefined;
    // A session that cannot finish (a body that never ends, a hung socket) is abandoned, never leaked.
    this.#deadline = ctx.deadlines.add(this, this.#started + plan.shadow.timeoutMs * 2 + 30_000);
    // Without a body, the shadow is sent now, as the primary is: both latencies count from the request's
    // arrival, and the clock is not read again for it (~500 instructions a reading under callgrind).
    if (!this.#requestCapture) this.#send(undefined, this.#started);
  }

  /**
   * The body to send the primary, with a bounded copy kept for the shadow: a body read whole is copied
   * at once; a stream is teed as it passes.
   */
  requestBody<T extends Buffer | Readable>(body: T): T {
    const capture = this.#requestCapture;
    if (!capture) return body;
    return teeBody(
      body,
      (chunk) => capture.add(chunk),
      () => {
        if (capture.truncated) this.#skip("body_too_large");
        else if (capture.overBudget) this.#skip("overload");
        else this.#send(capture.bytes(), performance.now());
      },
    );
  }

  /**
   * The primary's answer has started: its head. Its body's chunks follow through `primaryChunk` as they
   * are written to the client (the data plane writes them; a bounded copy is kept here).
   */
  primaryHead(status: number, headers: RawHead, contentLength: string | undefined): void {
    this.#primaryHead = { status, headers };
    this.#primaryCapture.expect(Number(contentLength ?? 0));
  }

  /** One chunk of the primary's body, as it goes to the client. */
  primaryChunk(chunk: Buffer): void {
    this.#primaryCapture.add(chunk);
  }

  /** The primary exchange is over: `error` is its transport error, or null when the client has its whole answer. */
  primaryDone(error: Error | null, clientAborted: boolean): void {
    const ms = performance.now() - this.#started;
    if (clientAborted) return this.#skip("aborted");
    if (error && this.#requestCapture && !this.#shadow && !this.#sendStarted) return this.#skip("aborted");
    if (error || !this.#primaryHead) {
      this.#primary = { side: { ok: false, error: classifyUpstreamError(error, this.plan.primary.name).code }, ms };
    } else {
      this.#primary = {
        side: { ok: true, response: new CapturedAnswer(this.#primaryHead.status, this.#primaryHead.headers, this.#primaryCapture) },
        ms,
      };
    }
    this.#maybeCompare();
  }

  #sendStarted = false;

  /** The request's body as an example stores it: redacted by its content type, cut to the example's size; empty without one. */
  #requestBodyText(redactor: Redactor): string {
    const capture = this.#requestCapture;
    if (!capture || capture.unusable) return "";
    const headers = this.plan.req.headers;
    // A compressed request body is rare and not decoded here: stored as its size, never as bytes.
    if (headers["content-encoding"] && headers["content-encoding"] !== "identity") return `(${capture.bytes().length} bytes, ${headers["content-encoding"]}: not stored)`;
    return redactor.body(capture.bytes().toString("utf8"), headers["content-type"], this.plan.shadow.redact.bodyFields, this.ctx.limits.exampleBodyBytes);
  }

  /** Sends the request to the other backend (and the noise sample's), `at` being now. */
  #send(body: Buffer | undefined, at: number): void {
    if (this.#ended) return;
    this.#sendStarted = true;
    const { plan } = this;
    this.#fetch(plan.shadowBackend, body, false, at);
    if (plan.noiseBackend) this.#fetch(plan.noiseBackend, body, true, at);
  }

  #fetch(backend: Backend, body: Buffer | undefined, noise: boolean, at: number): void {
    const { plan } = this;
    const { destinations } = backend;
    // Every breaker open: the copy still goes, and its failure is this side's answer.
    const destination = destinations.pickAny();
    // The noise sample asks the primary again; the shadow copy asks the other side.
    const toTarget = noise === (plan.primaryRole === "target");
    const headers = this.headersFor(toTarget && plan.targetHost !== undefined ? plan.targetHost : destination.host);
    headers.push(SHADOW_HEADER, "1");
    const span = plan.traceLink ? startShadowSpan(plan.traceLink, backend.name, headers) : undefined;
    // Checked against the primary's answer as it arrives, and kept only where it differs (mirror-capture.ts).
    const capture = new MirrorCapture(plan.shadow.maxResponseBytes, this.ctx.budget, this.#primaryCapture);
    // The fetch reports back to this session itself (`fetched`): no promise, closure or microtask per side.
    const fetch = new ShadowFetch(backend.name, capture, at, span, this, noise);
    if (noise) this.#noiseFetch = fetch;
    else this.#shadowFetch = fetch;
    destination.shadowPool.dispatch(
      {
        path: backend.basePath + (toTarget ? plan.targetPath : plan.query === "" ? plan.path : `${plan.path}?${plan.query}`),
        method: (plan.req.method ?? "GET") as Dispatcher.HttpMethod,
        headers,
        body: body ?? null,
        // The time limits are undici's (headers, then body idle) and the session's deadline.
        headersTimeout: plan.shadow.timeoutMs,
        bodyTimeout: plan.shadow.timeoutMs,
      },
      fetch,
    );
  }

  /**
   * The request's upstream headers for a backend at `host`, the caller's own list (it may add to it): built
   * once for the session, and copied for each other backend (the primary's too: see forward.ts), since a
   * build per backend showed in the profile.
   */
  headersFor(host: string): string[] {
    const pristine = this.#pristineHeaders;
    if (pristine !== undefined) return upstreamHeadersFor(pristine, host);
    const built = headersForBackend(this.plan.req, this.plan.requestId, host);
    this.#pristineHeaders = built.slice();
    return built;
  }

  /** A shadow (or noise) exchange is over, with its answer or why there is none (see ShadowFetch). */
  fetched(fetch: ShadowFetch, fetched: FetchedSide, noise: boolean): void {
    if (fetch === this.#noiseFetch) this.#noiseFetch = undefined;
    else if (fetch === this.#shadowFetch) this.#shadowFetch = undefined;
    if (this.#ended) return fetched.capture?.release(); // abandoned meanwhile: give the bytes back
    if (noise) this.#noise = fetched;
    else this.#shadow = fetched;
    this.#maybeCompare();
  }

  #maybeCompare(): void {
    if (this.#ended || !this.#primary || !this.#shadow || (this.plan.noiseBackend && !this.#noise)) return;
    const primary = this.#primary;
    const shadow = this.#shadow;
    const noise = this.#noise;
    // Tested side by side rather than through arrays and callbacks: this runs for every shadowed request.
    if (isTruncated(primary) || isTruncated(shadow) || isTruncated(noise)) return this.#skip("response_too_large");
    if (this.#primaryCapture.overBudget || shadow.capture?.overBudget || noise?.capture?.overBudget) return this.#skip("overload");
    const { plan, ctx } = this;
    // Every answer the same bytes as the primary's, as found while they streamed: nothing to parse or
    // compare again, and the mirrors hold nothing.
    const identicalBodies = isIdentical(shadow.capture) && (!noise || isIdentical(noise.capture));
    const legacy = this.#legacy;
    const target = this.#target;
    if (identicalBodies && !noise) {
      // The common case of a migration: the heads decide, here and now, with no comparison queued.
      const verdict = compareHeadsOfIdenticalBodies(legacy.side, target.side, plan.shadow.compare.headers);
      if (verdict !== undefined) {
        this.#ended = true;
        return this.compared(verdict);
      }
    }
    // The rules only matter to bodies that differ: identical ones are never parsed.
    const rules = identicalBodies ? NO_RULES : this.#rules();
    const started = ctx.comparer.compareThen({
      left: legacy.side,
      right: target.side,
      headers: plan.shadow.compare.headers,
      rules,
      identicalBodies,
      maxDecodedBytes: ctx.limits.maxDecodedBytes,
      // Rendered in the worker for a large pair; a small pair's example is rendered in #record, and only
      // when the evidence writer will keep it (see Comparer.compare).
      example: { redactFields: plan.shadow.redact.bodyFields, maxBytes: ctx.limits.exampleBodyBytes, rules: ctx.redaction },
      noise: noise ? { side: plan.primaryRole === "legacy" ? "left" : "right", again: noise.side } : undefined,
    }, this);
    if (!started) return this.#skip("overload");
    this.#ended = true;
  }

  /**
   * The route's comparison rules, with the noise learned so far set aside: the same object while neither
   * the route's config nor its noise changes, so that the comparer compiles them once (see rulesFor).
   */
  #rules(): DiffRules {
    const { shadow, routeId } = this.plan;
    // Learned noise is set aside when pairing array elements, so noisy elements in another order pair up.
    const setAside = shadow.noise.learn ? this.ctx.noise.noisePaths(routeId, shadow.noise.minOccurrences) : NO_PATHS;
    const cached = rulesByConfig.get(shadow);
    if (cached !== undefined && cached.setAside === setAside) return cached.rules;
    const { compare } = shadow;
    const rules: DiffRules = { ignore: compare.ignore, arrays: compare.arrays, keyNames: compare.keyNames, setAside, numericTolerance: compare.numericTolerance, timestampToleranceMs: compare.timestampToleranceMs };
    rulesByConfig.set(shadow, { setAside, rules });
    return rules;
  }

  /** The monolith's side of the pair, once both the primary and the shadow are in (#maybeCompare checks). */
  get #legacy(): FetchedSide {
    return (this.plan.primaryRole === "legacy" ? this.#primary : this.#shadow) as FetchedSide;
  }

  /** The target's side of the pair, likewise. */
  get #target(): FetchedSide {
    return (this.plan.primaryRole === "legacy" ? this.#shadow : this.#primary) as FetchedSide;
  }

  /** The comparison's result (the comparer calls this session back: no promise chain per request). */
  compared(result: ComparisonResult): void {
    try {
      this.#record(this.#legacy, this.#target, result);
    } catch {
      this.ctx.metrics.outcome(this.plan.routeId, "error");
    } finally {
      this.#end();
    }
  }

  /** A comparison that threw (a worker that died) is an error outcome, never an unhandled rejection. */
  failed(): void {
    this.ctx.metrics.outcome(this.plan.routeId, "error");
    this.#end();
  }

  #record(legacy: FetchedSide, target: FetchedSide, result: ComparisonResult): void {
    const noiseResult = result.noise;
    const { plan, ctx } = this;
    const route = plan.routeId;
    if (result.pairedBy) ctx.pairings.note(route, result.pairedBy);
    ctx.metrics.latency(route, plan.primaryRole === "legacy" ? plan.primary.name : plan.shadowBackend.name, legacy.ms / 1000);
    ctx.metrics.latency(route, plan.primaryRole === "legacy" ? plan.shadowBackend.name : plan.primary.name, target.ms / 1000);

    if (!noiseResult && result.outcome === "match" && result.differences.length === 0) {
      // The common case, with nothing to sort out: counted, and an outcome for the store.
      ctx.metrics.outcome(route, "match");
      ctx.evidence.count(route, "match");
      return;
    }
    // Noise: what differs between two answers of the same backend to this very request, and what was learned before.
    const sampleNoise = noiseResult && noiseResult.outcome !== "error" ? noiseResult.differences.filter((d) => d.kind !== "status").map((d) => ({ path: signaturePath(d.path), kind: d.kind })) : undefined;
    if (sampleNoise) ctx.noise.observe(route, sampleNoise);
    // Noise of this very request is set aside at once, by place and kind (an `order` there is not a `type_changed`).
    const thisRequest = sampleNoise ? new Set(sampleNoise.map((p) => placeKey(p.path, p.kind))) : undefined;
    const minOccurrences = plan.shadow.noise.minOccurrences;
    const real: Difference[] = [];
    /** Each real difference's signature path, made once (a regular expression's replace) for the noise test and the signatures. */
    const realPaths: string[] = [];
    let noisy = 0;
    for (const d of result.differences) {
      const path = signaturePath(d.path);
      if (thisRequest?.has(placeKey(path, d.kind)) === true || ctx.noise.isNoise(route, path, d.kind, minOccurrences)) noisy++;
      else {
        real.push(d);
        realPaths.push(path);
      }
    }
    if (noisy > 0) ctx.metrics.noise(route, noisy);
    const outcome = result.outcome === "error" ? "error" : real.length > 0 ? "diverge" : "match";
    ctx.metrics.outcome(route, outcome);

    const signatures = real.length === 1 ? [{ path: realPaths[0] as string, kind: (real[0] as Difference).kind }] : [...new Map(real.map((d, i) => [`${realPaths[i]}\u0000${d.kind}`, { path: realPaths[i] as string, kind: d.kind }])).values()];
    const withExample = outcome !== "match" && ctx.evidence.wantsExample(route, signatures);
    if (!withExample && !sampleNoise && signatures.length <= 1) {
      // Nothing to store but the outcome and its signature: tallied, with no item made for it.
      if (signatures.length === 0) ctx.evidence.count(route, outcome);
      else ctx.evidence.countSigned(route, outcome, signatures[0] as (typeof signatures)[number]);
      return;
    }
    const exampleBody = (side: ComparedSide, rendered: string | undefined) => rendered ?? exampleText(side, plan.shadow.redact.bodyFields, ctx.limits.exampleBodyBytes, ctx.redaction, ctx.limits.maxDecodedBytes);
    const redactor = redactorFor(ctx.redaction);
    const item: EvidenceBatchItem = {
      routeId: route,
      atMs: Date.now(),
      outcome,
      signatures,
      ...(sampleNoise ? { noiseSample: { places: sampleNoise } } : {}),
      ...(!withExample
        ? {}
        : {
            example: {
              requestId: plan.requestId,
              method: plan.req.method ?? "GET",
              path: redactor.path(plan.path),
              query: redactor.query(plan.query),
              ...(plan.targetPath !== (plan.query === "" ? plan.path : `${plan.path}?${plan.query}`) ? { targetPath: redactor.path(plan.targetPath.split("?", 1)[0] as string) } : {}),
              primary: plan.primaryRole,
              legacyStatus: legacy.side.ok ? legacy.side.response.status : null,
              targetStatus: target.side.ok ? target.side.response.status : null,
              legacyMs: Math.round(legacy.ms * 10) / 10,
              targetMs: Math.round(target.ms * 10) / 10,
              requestHeaders: redactor.headers(plan.req.headers),
              requestBody: this.#requestBodyText(redactor),
              legacyBody: exampleBody(legacy.side, result.example?.left),
              targetBody: exampleBody(target.side, result.example?.right),
              differences: exampleDifferences(real, realPaths).map((d) => redactor.difference(d, plan.shadow.redact.bodyFields)),
            },
          }),
    };
    ctx.evidence.push(item);
  }

  #skip(reason: SkipReason): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#shadowFetch?.abort();
    this.#noiseFetch?.abort();
    this.ctx.metrics.skipped(this.plan.routeId, reason);
    this.ctx.evidence.count(this.plan.routeId, "skipped");
    this.#end();
  }

  /** The session's deadline passed (see Deadlines): it is abandoned as aborted. */
  expire(): void {
    this.#skip("aborted");
  }

  #end(): void {
    this.ctx.deadlines.delete(this.#deadline);
    this.#primaryCapture.release();
    this.#requestCapture?.release();
    this.#shadow?.capture?.release();
    this.#noise?.capture?.release();
    this.ctx.onEnd();
  }
}
