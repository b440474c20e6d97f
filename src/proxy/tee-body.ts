import { Buffer } from "node:buffer";
import { Transform, type Readable } from "node:stream";

/**
 * A request body on its way upstream, with each chunk shown to `onChunk` as it passes (a shadow session
 * or a recording keeps a bounded copy): a body read whole is shown at once, a stream through a Transform.
 * `onEnd` is called when the whole body has been seen (never for a stream that fails). Returns the body
 * to send, the same Buffer or the teed stream.
 */
export function teeBody<T extends Buffer | Readable>(body: T, onChunk: (chunk: Buffer) => void, onEnd?: () => void): T {
  if (Buffer.isBuffer(body)) {
    onChunk(body);
    onEnd?.();
    return body;
  }
  const stream = body as Readable;
  const tee = new Transform({
    transform: (chunk: Buffer, _encoding, next) => {
      onChunk(chunk);
      next(null, chunk);
    },
    flush: (next) => {
      onEnd?.();
      next();
    },
  });
  stream.on("error", (error) => tee.destroy(error));
  return stream.pipe(tee) as Readable as T;
}
