import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";

/**
 * True when the request carries a body: on HTTP/1.x when a length or a transfer coding says so (RFC 9112
 * §6.3); on HTTP/2 when its HEADERS frame did not end the stream (a length is optional there, RFC 9113 §8.1).
 */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  if (length !== undefined) return length !== "0";
  if (req.httpVersionMajor === 2) return !(req as unknown as Http2ServerRequest).stream.endAfterHeaders;
  return req.headers["transfer-encoding"] !== undefined;
}
