import type { IncomingMessage } from "node:http";

/** True when the request carries a body (RFC 9112 §6.3: a length or a transfer coding says so). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  if (length !== undefined) return length !== "0";
  return req.headers["transfer-encoding"] !== undefined;
}
