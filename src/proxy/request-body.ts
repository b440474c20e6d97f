import { Buffer } from "node:buffer";
import type { IncomingMessage } from "node:http";
import { PassThrough, type Readable } from "node:stream";
import type { ByteBudget } from "./byte-budget.ts";

/** The request body went silent for longer than `clientBodyTimeoutMs`. */
export class ClientBodyTimeoutError extends Error {
  readonly code = "CLIENT_BODY_TIMEOUT";
  override name = "ClientBodyTimeoutError";
  constructor(ms: number) {
    super(`the request body sent nothing for ${ms} ms`);
  }
}

/** The request body grew past its bound (`maxRequestBodyBytes`) while it streamed. */
export class RequestBodyTooLargeError extends Error {
  readonly code = "BODY_TOO_LARGE";
  override name = "RequestBodyTooLargeError";
  constructor(readonly maxBytes: number) {
    super(`the request body is larger than ${maxBytes} bytes`);
  }
}

/** `error` itself, or a cause undici wrapped it in, when one is an instance of `type`. */
function causeOf<T extends Error>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    if (current instanceof type) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when `error` (or a cause undici wrapped it in) is a client body timeout. */
export function isClientBodyTimeout(error: unknown): boolean {
  return causeOf(error, ClientBodyTimeoutError) !== undefined;
}

/** The body-too-large error behind `error` (undici may wrap it), or undefined. */
export function bodyTooLarge(error: unknown): RequestBodyTooLargeError | undefined {
  return causeOf(error, RequestBodyTooLargeError);
}

/**
 * A request body as the data plane sends it on:
 * - `buffered`: read whole (it fit the buffer), so no backend connection waits on the client;
 * - `streaming`: longer than the buffer; what was read first, then the rest as it arrives;
 * - `timeout`: the client went silent before the buffer was full or the body ended;
 * - `too_large`: the body passed `maxBytes` while it was buffered;
 * - `aborted`: the client went away.
 */
export type RequestBody =
  | { readonly kind: "buffered"; readonly body: Buffer }
  | { readonly kind: "streaming"; readonly body: Readable }
  | { readonly kind: "timeout" }
  | { readonly kind: "too_large" }
  | { readonly kind: "aborted" };

export interface BodyIntakeOptions {
  /** Read up to this many bytes before deciding (`server.requestBufferBytes`, or more for a replayable body). */
  readonly bufferBytes: number;
  /** Longest silence allowed between two chunks, while buffering and while streaming. */
  readonly idleTimeoutMs: number;
  /** Shared allowance for buffered bodies; a body it cannot take streams instead. */
  readonly budget: ByteBudget;
  /** Largest body allowed (0: none); a streamed body past it fails with `RequestBodyTooLargeError`. */
  readonly maxBytes: number;
}

/**
 * Reads a request body the way nginx's request buffering does, but bounded in memory: up to
 * `bufferBytes` first (charged to the shared budget), then either the whole body or a stream of what was
 * read followed by the rest. Every silence longer than `idleTimeoutMs` ends the body with a timeout: as
 * `timeout` while buffering, as a `ClientBodyTimeoutError` on the stream after. Call `release` once the
 * exchange is over to give the buffered bytes back.
 */
export function readRequestBody(req: IncomingMessage, options: BodyIntakeOptions): { result: Promise<RequestBody>; release: () => void } {
  let charged = 0;
  const release = () => {
    options.budget.give(charged);
    charged = 0;
  };
  const result = new Promise<RequestBody>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const timer = setTimeout(() => finish({ kind: "timeout" }), options.idleTimeoutMs);
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("aborted", onAborted);
      req.off("error", onAborted);
    };
    function finish(outcome: RequestBody): void {
      if (settled) return;
      settled = true;
      cleanup();
      clearTimeout(timer);
      resolve(outcome);
    }
    function toStreaming(): void {
      req.pause();
      cleanup();
      settled = true;
      clearTimeout(timer); // the stream keeps an idle timer of its own
      resolve({ kind: "streaming", body: continueStreaming(req, chunks, options.idleTimeoutMs, options.maxBytes) });
    }
    function onData(chunk: Buffer): void {
      timer.refresh();
      size += chunk.length;
      if (options.maxBytes > 0 && size > options.maxBytes) return finish({ kind: "too_large" });
      chunks.push(chunk);
      // No room to buffer: stream what was read and the rest, bounded by the streaming-upload limit.
      if (!options.budget.take(chunk.length)) return toStreaming();
      charged += chunk.length;
      if (size > options.bufferBytes) toStreaming();
    }
    function onEnd(): void {
      finish({ kind: "buffered", body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) });
    }
    function onAborted(): void {
      finish({ kind: "aborted" });
    }
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("aborted", onAborted);
    req.on("error", onAborted);
  });
  return { result, release };
}

/**
 * What was read first, then the rest of `req` with backpressure, each silence bounded by `idleTimeoutMs`
 * and the whole by `maxBytes` (0: none).
 */
function continueStreaming(req: IncomingMessage, prefix: readonly Buffer[], idleTimeoutMs: number, maxBytes: number): Readable {
  const out = new PassThrough();
  // Whoever reads the body (undici) sees its errors through its own listeners; a body never read (the
  // request was refused) must not turn a timeout into an unhandled error.
  out.on("error", () => undefined);
  let size = 0;
  for (const chunk of prefix) {
    size += chunk.length;
    out.write(chunk);
  }
  // Each chunk pushes the deadline back.
  const idle = setTimeout(() => out.destroy(new ClientBodyTimeoutError(idleTimeoutMs)), idleTimeoutMs);
  req.on("data", (chunk: Buffer) => {
    idle.refresh();
    size += chunk.length;
    if (maxBytes > 0 && size > maxBytes && !out.destroyed) {
      clearTimeout(idle);
      req.unpipe(out);
      out.destroy(new RequestBodyTooLargeError(maxBytes));
    }
  });
  req.once("end", () => clearTimeout(idle));
  const gone = () => {
    clearTimeout(idle);
    out.destroy(new Error("the client went away during the request body"));
  };
  req.once("aborted", gone);
  req.once("error", gone);
  out.once("close", () => clearTimeout(idle));
  req.pipe(out);
  req.resume();
  return out;
}
