import type { IncomingMessage } from "node:http";
import { constants, type Http2ServerRequest } from "node:http2";
import type { Socket } from "node:net";

/** How long, and how much, of an unwanted request body is read and discarded before the connection closes. */
export interface LingerLimits {
  readonly lingerTimeoutMs: number;
  readonly lingerMaxBytes: number;
}

const lingering = new WeakSet<Socket>();

/**
 * Prepares a client connection whose answer goes out before its request body was read (a backend that
 * refused an upload, an error the proxy answered): the response must say `Connection: close`, and when
 * Node closes the connection after it, the proxy first half-closes (FIN after the answer) and goes on
 * reading and discarding the body, so the client reads its answer instead of a reset. This is nginx's
 * `lingering_close`: bounded by `lingerMaxBytes` and `lingerTimeoutMs`, then the connection is cut.
 * Closing at once would make the kernel reset the connection while the client is still sending, and
 * the reset can overtake the answer.
 */
export function lingerOnClose(req: IncomingMessage, limits: LingerLimits): void {
  if (req.httpVersionMajor === 2) return endStreamAfterAnswer(req as unknown as Http2ServerRequest);
  const socket = req.socket;
  if (lingering.has(socket) || socket.destroyed) return;
  lingering.add(socket);
  const closeNow = socket.destroySoon.bind(socket);
  // Node calls destroySoon() once a `Connection: close` response is written; linger there instead.
  socket.destroySoon = () => {
    if (req.complete || limits.lingerTimeoutMs === 0) return closeNow();
    socket.end();
    let discarded = 0;
    const timer = setTimeout(() => socket.destroy(), limits.lingerTimeoutMs);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
    req.on("data", (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > limits.lingerMaxBytes) socket.destroy();
    });
    // The whole body has arrived: nothing unread is left, so closing now sends no reset.
    req.once("end", () => socket.destroy());
    req.once("aborted", () => socket.destroy());
    req.unpipe();
    req.resume();
  };
}

/**
 * HTTP/2's form of the same: the connection carries other streams and is never closed for one. Once
 * the answer is sent, a stream whose request body is still arriving is reset with NO_ERROR, which asks
 * the client to stop sending and keep the answer (RFC 9113 §8.1).
 */
function endStreamAfterAnswer(req: Http2ServerRequest): void {
  const stream = req.stream;
  stream.once("finish", () => {
    if (!req.complete && !stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
  });
}
