import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

// An incoming id is kept only when it is short and printable, so it is safe in logs and headers.
const ACCEPTABLE_ID = /^[A-Za-z0-9._:@\-]{1,128}$/;

/** The client's `x-request-id` when it is acceptable, else a fresh UUID. */
export function requestIdFor(headers: IncomingHttpHeaders): string {
  const given = headers["x-request-id"];
  return typeof given === "string" && ACCEPTABLE_ID.test(given) ? given : randomUUID();
}
