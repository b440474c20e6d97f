import { Buffer } from "node:buffer";
import type { IncomingMessage } from "node:http";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import type { RecordingSettings } from "../config/schema.ts";
import { murmurhash3_32 } from "../decision/murmurhash3.ts";
import { decodeContent } from "../proxy/content-encoding.ts";
import { RawHead } from "../proxy/raw-head.ts";
import { teeBody } from "../proxy/tee-body.ts";
import { pseudonym, redactorFor, type RedactionRules } from "../redaction/redactor.ts";
import type { NewRecordedExchange, RecordingRecord, RecordingStore } from "../store/recording-store.ts";

/**
 * Recording a route's real exchanges with the monolith (issue 29), off the hot path and never at the
 * client's expense. While a route has an active recording, each request the monolith answers on it is
 * captured (references to its body chunks, up to `recording.maxBodyBytes`, within a global byte budget);
 * when the answer is complete, the sample decides whether to keep it, by stratum (method, status class,
 * response shape): the first 2% of the recording's size (at most 100) from every stratum are kept whatever the rate,
 * so rare answers (a 404 in 0.5% of the traffic) are in it, and the rest at the recording's rate. A kept
 * exchange is redacted (src/redaction/, its sticky key made a keyed pseudonym: the session) before it
 * is queued; the queue is bounded, drops and counts when full, and a recording that keeps dropping stops
 * itself. Batches are written on a timer; every node appends to the same recording, which stops when full.
 */

/** The request's sticky key, and where it came from (a header or a query parameter, to be replaced there). */
export interface StickyKeySource {
  readonly key: string;
  readonly header?: string;
  readonly query?: string;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** What the data plane tells the recording of one exchange, at the points it tells a shadow session. */
export interface ExchangeRecording {
  /** The body to send upstream, with a bounded copy kept. */
  requestBody<T extends Buffer | Readable>(body: T): T;
  /** The monolith's answer has started. */
  head(status: number, rawHeaders: readonly Buffer[]): void;
  /** One chunk of the answer, as it goes to the client. */
  chunk(chunk: Buffer): void;
  /** The exchange is over: kept for the sample when it completed (no error, client still there). */
  done(error: Error | null, aborted: boolean): void;
}

interface ActiveRecording {
  readonly record: RecordingRecord;
  /** Kept here, not yet written, and the store's total when last written: what counts towards its size. */
  kept: number;
  readonly strata: Map<string, number>;
  /**
   * wantsUndrawn's answers, by Content-Type, then method, then status class and JSON shape (an index):
   * they change only when a stratum fills. Nested, not one key made of the four: a key built and hashed
   * for each exchange cost 2k instructions, the same strings looked up cost a few hundred.
   */
  readonly undrawn: Map<string, Map<string, Int8Array>>;
  queue: NewRecordedExchange[];
  dropped: number;
  /** When it started dropping without a pause, or undefined. */
  droppingSince: number | undefined;
}

export interface RecorderOptions {
  readonly store: RecordingStore;
  readonly settings: () => RecordingSettings;
  /** What is never stored (the defaults, the config's `redaction`, and the pseudonyms' key). */
  readonly redaction: () => RedactionRules;
  readonly logger: Logger;
  /** The route's own body fields never stored (its `shadow.redact.bodyFields`), besides `redaction`'s. */
  readonly bodyFields: (routeId: string) => readonly string[];
  /** The route's config version now (src/config/config-version.ts), stored with each exchange; "" when the route is gone. */
  readonly configVersion: (routeId: string) => string;
  /** A recording stopped by itself (full, or the store stayed behind), told once by the process whose stop took: the audit trail hears of it. */
  readonly stoppedByItself?: (record: RecordingRecord, reason: "full" | "overload") => Promise<void>;
  readonly now?: () => number;
}

/** A bounded list of body chunks, held by reference (the chunks are the request's and the answer's own). */
class Chunks {
  readonly #list: Buffer[] = [];
  size = 0;
  truncated = false;
  constructor(
    private readonly max: number,
    private readonly budget: { held: number; readonly limit: number },
  ) {}

  add(chunk: Buffer): void {
    if (this.truncated) return;
    const room = this.max - this.size;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    if (chunk.length > room) this.truncated = true;
    this.#list.push(part);
    this.size += part.length;
    this.budget.held += part.length;
  }

  /** The first chunk kept, or undefined: enough to tell an answer's shape. */
  first(): Buffer | undefined {
    return this.#list[0];
  }

  bytes(): Buffer {
    return this.#list.length === 1 ? (this.#list[0] as Buffer) : Buffer.concat(this.#list);
  }

  release(): void {
    this.budget.held -= this.size;
    this.#list.length = 0;
    this.size = 0;
  }
}

const STATUS_CLASS = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx"];

/**
 * Every stratum's first exchanges are kept whatever the rate: 2% of the recording's size (20 of 1,000),
 * at most 100, so that a large recording is still mostly its rate's sample.
 */
const STRATUM_QUOTA_SHARE = 0.02;
const STRATUM_QUOTA_CAP = 100;
/** Content-Types, and methods under each, whose wantsUndrawn answers a recording remembers (then forgets together): a route's are few. */
const UNDRAWN_CACHE = 100;
/** wantsUndrawn's answers in their Int8Array: not asked yet, wanted, not wanted. */
const UNASKED = 0;
const WANTED = 1;
const UNWANTED = 2;
/** Sticky keys whose session pseudonym is remembered at once (then forgotten together). */
const SESSION_CACHE = 10_000;

const JSON_SHAPES = ["object", "array", "other"] as const;

/** The seed of the users' draw: any constant, other than the rollout's, so the two draws are independent. */
const USER_DRAW_SEED = 0x5ec0_4d1e;

/**
 * Whether the rate draws an exchange: by its user (the sticky key) when it has one, so that a drawn
 * user's exchanges are all kept, in every recording of the same rate (their write on order-create and
 * their read of it on order-detail: a replay can then map the id). Without a key, by chance.
 */
export function drawn(stickyKey: string | undefined, rate: number): boolean {
  if (rate >= 1) return true;
  if (stickyKey === undefined) return Math.random() < rate;
  return murmurhash3_32(stickyKey, USER_DRAW_SEED) / 0x1_0000_0000 < rate;
}

/** The stratum quota: every stratum's first exchanges are kept whatever the rate. */
const quotaOf = (recording: ActiveRecording) => Math.min(STRATUM_QUOTA_CAP, Math.ceil(recording.record.maxExchanges * STRATUM_QUOTA_SHARE));

/** The last Content-Type read and its media type: a route's answers nearly all carry the same one. */
let lastContentType: string | undefined;
let lastMedia = "none";

/** The media type of a Content-Type, lower case ("none" without one). */
function mediaOf(contentType: string | undefined): string {
  if (contentType === lastContentType) return lastMedia;
  const semicolon = contentType?.indexOf(";") ?? -1;
  const media = (semicolon === -1 ? (contentType ?? "") : (contentType as string).slice(0, semicolon)).trim().toLowerCase() || "none";
  lastContentType = contentType;
  lastMedia = media;
  return media;
}

/** Whether a media type is JSON's (application/json, application/problem+json…): its strata go by shape. */
const isJson = (media: string) => media.includes("json");

/** A JSON answer's shape from its first bytes: an object, an array, or other; undefined for any other media type. */
function jsonShapeOf(media: string, body: Buffer | undefined): (typeof JSON_SHAPES)[number] | undefined {
  if (!isJson(media)) return undefined;
  // By index, not `for…of` a subarray: an iterator and a new Buffer per kept answer showed in the profile.
  const end = Math.min(body?.length ?? 0, 64);
  for (let i = 0; i < end; i++) {
    const byte = (body as Buffer)[i] as number;
    if (byte === 0x7b) return "object";
    if (byte === 0x5b) return "array";
    if (byte > 0x20) break;
  }
  return "other";
}

/**
 * An exchange's stratum: "METHOD Nxx media", and for JSON its shape ("GET 2xx application/json object").
 * The one place its spelling is made: the sample at the end and the head's quota check must agree on it.
 */
function stratumOf(method: string, status: number, media: string, shape: string | undefined): string {
  const prefix = `${method} ${STATUS_CLASS[Math.floor(status / 100)] ?? "xxx"} ${media}`;
  return shape === undefined ? prefix : `${prefix} ${shape}`;
}

/** A body as text: decoded from its content encoding (bounded), or a note when it cannot be. */
function bodyText(bytes: Buffer, encoding: string | undefined, maxBytes: number): string {
  const coding = (encoding ?? "identity").trim().toLowerCase();
  try {
    const decoded = decodeContent(bytes, coding, maxBytes);
    if (!decoded) return `(${bytes.length} bytes, ${coding}: not stored)`;
    return decoded.toString("utf8");
  } catch {
    return `(${bytes.length} bytes, ${coding}, not decodable: not stored)`;
  }
}

export class Recorder {
  readonly #active = new Map<string, ActiveRecording>();
  readonly #budget: { held: number; readonly limit: number };
  readonly #now: () => number;
  #flushing: Promise<void> = Promise.resolve();
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: RecorderOptions) {
    this.#budget = { held: 0, limit: options.settings().maxBufferedBytes };
    this.#now = options.now ?? Date.now;
  }

  /** Reads the active recordings, then writes and re-reads them on timers (`recording.flushMs`, `refreshMs`). */
  async start(): Promise<void> {
    await this.refresh();
    const settings = this.options.settings();
    const every = (ms: number, work: () => Promise<void>) => {
      const timer = setInterval(() => void work().catch((error: Error) => this.options.logger.warn({ err: error.message }, "recording: store unreachable")), ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(settings.flushMs, () => this.flush());
    every(settings.refreshMs, () => this.refresh());
  }

  /** Body bytes the captures in flight hold now (within `recording.maxBufferedBytes`). */
  get heldBytes(): number {
    return this.#budget.held;
  }

  /** Whether a route is being recorded here now: one map lookup, the only cost a request on another route pays. */
  isRecording(routeId: string): boolean {
    return this.#active.has(routeId);
  }

  /** Starts capturing one exchange of a recorded route that the monolith answers; undefined when not capturing it. */
  capture(routeId: string, req: IncomingMessage, path: string, query: string, sticky: StickyKeySource | undefined): ExchangeRecording | undefined {
    const recording = this.#active.get(routeId);
    if (!recording || recording.kept >= recording.record.maxExchanges) return undefined;
    if (this.#budget.held >= this.#budget.limit) {
      this.#drop(recording);
      return undefined;
    }
    return new Capture(this, recording, req, path, query, sticky, this.options.settings().maxBodyBytes, this.#budget);
  }

  /** A captured exchange completed: sampled by its stratum, redacted, queued (or dropped when the queue is full). */
  keep(recording: ActiveRecording, capture: Capture, status: number, rawHeaders: readonly Buffer[]): void {
    if (this.#active.get(recording.record.routeId) !== recording || recording.kept >= recording.record.maxExchanges) return;
    // Read by name without making the whole head: most exchanges are sampled out on their stratum.
    const head = new RawHead(rawHeaders);
    const contentType = capture.contentType;
    const media = mediaOf(contentType);
    const stratum = stratumOf(capture.req.method ?? "GET", status, media, jsonShapeOf(media, capture.response.first()));
    const seen = recording.strata.get(stratum) ?? 0;
    const quota = quotaOf(recording);
    if (seen >= quota && !capture.drawn) return;
    const settings = this.options.settings();
    if (recording.queue.length >= settings.maxQueued) return this.#drop(recording);
    recording.droppingSince = undefined;
    recording.strata.set(stratum, seen + 1);
    if (seen + 1 === quota) recording.undrawn.clear();
    recording.kept++;
    const rules = this.options.redaction();
    const redactor = redactorFor(rules);
    const max = settings.maxBodyBytes;
    const fields = this.options.bodyFields(recording.record.routeId);
    const req = capture.req;
    const body = capture.response.bytes();
    const key = rules.pseudonymKey;
    const sticky = capture.sticky;
    // The session: a keyed pseudonym of the sticky key, which also replaces the key where the request carried it.
    const session = sticky && key ? this.#session(key, sticky.key) : "";
    const requestHeaders = redactor.headers(req.headers);
    if (sticky?.header && requestHeaders[sticky.header] !== undefined) requestHeaders[sticky.header] = session || "[redacted]";
    let query = redactor.query(capture.query);
    if (sticky?.query) query = query.replace(new RegExp(`(^|[?&])(${escapeRegExp(encodeURIComponent(sticky.query))})=[^&]*`), `$1$2=${session || "%5Bredacted%5D"}`);
    recording.queue.push({
      at: this.#now(),
      session,
      stratum,
      method: req.method ?? "GET",
      path: redactor.path(capture.path),
      query,
      requestHeaders,
      requestBody: capture.request.size > 0 ? redactor.body(bodyText(capture.request.bytes(), req.headers["content-encoding"], max), req.headers["content-type"], fields, max) : "",
      requestTruncated: capture.request.truncated,
      status,
      responseHeaders: redactor.headers(head.toRecord()),
      responseBody: redactor.body(bodyText(body, head.get("content-encoding"), max), contentType, fields, max),
      responseTruncated: capture.response.truncated,
      latencyMs: Math.round((performance.now() - capture.started) * 100) / 100,
      configVersion: this.options.configVersion(recording.record.routeId),
    });
  }

  /**
   * Whether an exchange the rate did not draw can still be kept: only when its stratum is under its
   * quota. Known at its answer's head, or for JSON at its first chunk (which tells the shape). When not,
   * the capture lets go at once, before any of the answer's body is held.
   */
  wantsUndrawn(recording: ActiveRecording, method: string, status: number, contentType: string | undefined, shape: (typeof JSON_SHAPES)[number] | undefined): boolean {
    const type = contentType ?? "";
    let byMethod = recording.undrawn.get(type);
    if (byMethod === undefined) {
      if (recording.undrawn.size >= UNDRAWN_CACHE) recording.undrawn.clear();
      recording.undrawn.set(type, (byMethod = new Map()));
    }
    let answers = byMethod.get(method);
    if (answers === undefined) {
      if (byMethod.size >= UNDRAWN_CACHE) byMethod.clear();
      byMethod.set(method, (answers = new Int8Array((STATUS_CLASS.length + 1) * (JSON_SHAPES.length + 1))));
    }
    const statusClass = Math.min(Math.max(Math.floor(status / 100), 0), STATUS_CLASS.length);
    const at = statusClass * (JSON_SHAPES.length + 1) + (shape === undefined ? 0 : JSON_SHAPES.indexOf(shape) + 1);
    if (answers[at] === UNASKED) answers[at] = (recording.strata.get(stratumOf(method, status, mediaOf(contentType), shape)) ?? 0) < quotaOf(recording) ? WANTED : UNWANTED;
    return answers[at] === WANTED;
  }

  /** Sessions by sticky key, remembered: the same users come back, and an HMAC each time showed in the profile. */
  readonly #sessions = new Map<string, string>();
  #sessionKey: string | undefined;

  #session(key: string, sticky: string): string {
    if (key !== this.#sessionKey) {
      this.#sessionKey = key;
      this.#sessions.clear();
    }
    let session = this.#sessions.get(sticky);
    if (session === undefined) {
      if (this.#sessions.size >= SESSION_CACHE) this.#sessions.clear();
      session = pseudonym(Buffer.from(key, "base64"), sticky);
      this.#sessions.set(sticky, session);
    }
    return session;
  }

  #drop(recording: ActiveRecording): void {
    recording.dropped++;
    recording.droppingSince ??= this.#now();
  }

  /** Writes what is queued, one batch per recording; stops the full ones, and those that kept dropping. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const { overloadStopMs } = this.options.settings();
      for (const recording of [...this.#active.values()]) {
        const batch = recording.queue;
        const dropped = recording.dropped;
        if (batch.length > 0 || dropped > 0) {
          recording.queue = [];
          recording.dropped = 0;
          const after = await this.options.store.append(recording.record.id, batch, dropped);
          if (!after) {
            this.#active.delete(recording.record.routeId); // stopped or deleted elsewhere
            continue;
          }
          recording.kept = Math.max(recording.kept, after.exchanges);
          if (after.exchanges >= after.maxExchanges) {
            await this.#stopByItself(after.id, "full");
            continue;
          }
        }
        if (recording.droppingSince !== undefined && this.#now() - recording.droppingSince >= overloadStopMs) {
          this.options.logger.warn({ route: recording.record.routeId, recording: recording.record.id }, "recording stopped: the store stayed behind");
          await this.#stopByItself(recording.record.id, "overload");
        }
      }
    });
    return this.#flushing;
  }

  /** Follows the store: recordings started or stopped through another node (or process) apply here too. */
  async refresh(): Promise<void> {
    const active = await this.options.store.active();
    const ids = new Set(active.map((r) => r.id));
    for (const [routeId, recording] of this.#active) if (!ids.has(recording.record.id)) this.#active.delete(routeId);
    for (const record of active) {
      if (this.#active.get(record.routeId)?.record.id === record.id) continue;
      this.#active.set(record.routeId, { record, kept: record.exchanges, strata: new Map(), undrawn: new Map(), queue: [], dropped: 0, droppingSince: undefined });
    }
  }

  /** Starts a recording of a route (undefined when one is active on it already), capturing at once here. */
  async begin(request: { routeId: string; rate: number; maxExchanges: number; startedBy: string; reason: string }): Promise<RecordingRecord | undefined> {
    const record = await this.options.store.start({ ...request, at: this.#now() });
    if (record) this.#active.set(record.routeId, { record, kept: 0, strata: new Map(), undrawn: new Map(), queue: [], dropped: 0, droppingSince: undefined });
    return record;
  }

  async #stopByItself(id: number, reason: "full" | "overload"): Promise<void> {
    const stopped = await this.stop(id, reason);
    if (stopped) await this.options.stoppedByItself?.(stopped, reason).catch((error: Error) => this.options.logger.warn({ err: error.message, recording: id }, "could not audit a recording's stop"));
  }

  /** Stops a recording after writing what is queued for it; undefined when it was not active. */
  async stop(id: number, reason: string): Promise<RecordingRecord | undefined> {
    const recording = [...this.#active.values()].find((r) => r.record.id === id);
    if (recording) {
      this.#active.delete(recording.record.routeId);
      if (recording.queue.length > 0 || recording.dropped > 0) await this.options.store.append(id, recording.queue, recording.dropped);
    }
    return this.options.store.stop(id, this.#now(), reason);
  }

  /** Writes what is left and stops the timers. */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await this.flush().catch(() => undefined);
  }
}

/** One exchange being captured. */
class Capture implements ExchangeRecording {
  readonly request: Chunks;
  readonly response: Chunks;
  readonly started = performance.now();
  /** Drawn by the recording's rate (kept whatever its stratum), decided when the exchange starts: by user (see drawn). */
  readonly drawn: boolean;
  /** The answer's Content-Type, read once at its head. */
  contentType: string | undefined;
  /** Let go at the answer's head or first chunk: neither drawn nor in a stratum under its quota. */
  #abandoned = false;
  /** Undrawn, with a JSON answer whose first chunk (its shape, its stratum) is still to come. */
  #shapeUnread = false;
  #status = 0;
  #rawHeaders: readonly Buffer[] = [];

  constructor(
    private readonly recorder: Recorder,
    private readonly recording: ActiveRecording,
    readonly req: IncomingMessage,
    readonly path: string,
    readonly query: string,
    readonly sticky: StickyKeySource | undefined,
    maxBodyBytes: number,
    budget: { held: number; readonly limit: number },
  ) {
    this.request = new Chunks(maxBodyBytes, budget);
    this.response = new Chunks(maxBodyBytes, budget);
    this.drawn = drawn(sticky?.key, recording.record.rate);
  }

  requestBody<T extends Buffer | Readable>(body: T): T {
    return teeBody(body, (chunk) => this.request.add(chunk));
  }

  head(status: number, rawHeaders: readonly Buffer[]): void {
    this.#status = status;
    this.#rawHeaders = rawHeaders;
    this.contentType = new RawHead(rawHeaders).getReusing("content-type", lastContentType);
    if (this.drawn) return;
    // A JSON answer's stratum needs its shape, which its first chunk tells: decided there.
    this.#shapeUnread = isJson(mediaOf(this.contentType));
    if (!this.#shapeUnread) this.#decideUndrawn(undefined);
  }

  chunk(chunk: Buffer): void {
    if (this.#shapeUnread) {
      this.#shapeUnread = false;
      this.#decideUndrawn(jsonShapeOf(mediaOf(this.contentType), chunk));
    }
    if (!this.#abandoned) this.response.add(chunk);
  }

  /** An exchange the rate did not draw is let go unless its stratum is under its quota. */
  #decideUndrawn(shape: (typeof JSON_SHAPES)[number] | undefined): void {
    if (this.recorder.wantsUndrawn(this.recording, this.req.method ?? "GET", this.#status, this.contentType, shape)) return;
    this.#abandoned = true;
    this.request.release();
  }

  done(error: Error | null, aborted: boolean): void {
    try {
      if (!this.#abandoned && !error && !aborted && this.#status > 0) this.recorder.keep(this.recording, this, this.#status, this.#rawHeaders);
    } finally {
      this.request.release();
      this.response.release();
    }
  }
}
