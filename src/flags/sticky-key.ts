import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { z } from "zod";
import type { stickyKeySchema } from "../config/schema.ts";
import { clientOf } from "../edge/client.ts";

export type StickyKeySource = z.output<typeof stickyKeySchema>;

/** The key a request is bucketed by, and the cookie to set when the proxy had to issue one. */
export interface StickyKey {
  readonly key: string;
  readonly setCookie?: string;
}

/** One cookie's value from a Cookie header, without parsing the rest. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return value === "" ? undefined : value;
    }
  }
  return undefined;
}

function queryValue(url: string | undefined, name: string): string | undefined {
  const q = url?.indexOf("?") ?? -1;
  if (!url || q === -1) return undefined;
  const value = new URLSearchParams(url.slice(q + 1)).get(name);
  return value === null || value === "" ? undefined : value;
}

const ISSUED_ID = /^[A-Za-z0-9-]{8,64}$/;
const ONE_YEAR_SECONDS = 365 * 24 * 3600;

/**
 * The sticky key of a request for a route: from the route's configured source; else from the proxy's
 * own id cookie; else a new id, with the Set-Cookie that makes it stick (HttpOnly, SameSite=Lax, and
 * Secure when the client's scheme is https, here or at a trusted balancer).
 */
export function stickyKeyOf(req: IncomingMessage, source: StickyKeySource, cookieName: string): StickyKey {
  if (source === "random") return { key: randomUUID() };
  if (source === "ip") return { key: clientOf(req).address };
  let given: string | undefined;
  if ("header" in source) {
    const value = req.headers[source.header];
    given = typeof value === "string" && value !== "" ? value : undefined;
  } else if ("cookie" in source) {
    given = cookieValue(req.headers.cookie, source.cookie);
  } else {
    given = queryValue(req.url, source.query);
  }
  if (given !== undefined) return { key: given };
  const issued = cookieValue(req.headers.cookie, cookieName);
  if (issued !== undefined && ISSUED_ID.test(issued)) return { key: issued };
  const id = randomUUID();
  const secure = clientOf(req).scheme === "https" ? "; Secure" : "";
  return { key: id, setCookie: `${cookieName}=${id}; Path=/; Max-Age=${ONE_YEAR_SECONDS}; HttpOnly; SameSite=Lax${secure}` };
}
