import type { Context, Next } from "hono";
import { AdminError } from "./admin-error.ts";

/** What the admin listener knows of itself, to tell its own requests from a web page's. */
export interface RequestGuardOptions {
  /** The address the listener is bound to (`127.0.0.1`, `0.0.0.0`, a host name). */
  readonly bindHost: string;
  /** Extra host names it answers to (`admin.allowedHosts` in routes.config.ts), read per request so a reload applies. */
  readonly allowedHosts: () => readonly string[];
}

const LOOPBACK_NAME = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;
const WILDCARD = new Set(["0.0.0.0", "::", "[::]"]);
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** `host` and `host:port` split; IPv6 literals keep their brackets. */
function splitHost(value: string): { name: string; port: string | undefined } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(value.trim().toLowerCase());
  return match ? { name: match[1] as string, port: match[2] } : { name: "", port: undefined };
}

/**
 * True when a `Host` header names this listener: a loopback name, its bind address, or an allowed host
 * (an entry with a port matches that port only). Anything else is a page that reached 127.0.0.1 through
 * a name of its own: DNS rebinding.
 */
export function isAllowedHost(host: string | undefined, options: RequestGuardOptions): boolean {
  if (!host) return false;
  const { name, port } = splitHost(host);
  if (name === "") return false;
  if (LOOPBACK_NAME.test(name)) return true;
  const bind = options.bindHost.toLowerCase();
  if (!WILDCARD.has(bind) && (name === bind || name === `[${bind}]`)) return true;
  return options.allowedHosts().some((entry) => {
    const allowed = splitHost(entry);
    return allowed.name === name && (allowed.port === undefined || allowed.port === port);
  });
}

/** The media type of a Content-Type header, lower-case, without parameters. */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/**
 * Refuses what a web page could make a browser send to the admin listener, before authentication:
 * - a `Host` that is not the listener's own (DNS rebinding), on every API and dashboard request;
 * - for every state-changing request: a cross-site `Origin` or `Sec-Fetch-Site`, and a body that is not
 *   `application/json` (an HTML form can send text/plain, urlencoded or multipart without a preflight;
 *   it cannot send JSON cross-site without one).
 * The CLI and scripts send no Origin and JSON bodies; the dashboard's same-origin fetches pass.
 */
export function requestGuard(options: RequestGuardOptions) {
  return async (c: Context, next: Next): Promise<void> => {
    const host = c.req.header("host");
    if (!isAllowedHost(host, options)) {
      throw new AdminError(403, "host_not_allowed", `the admin listener does not answer to Host ${JSON.stringify(host ?? "")}: add it to admin.allowedHosts in routes.config.ts if it is yours`);
    }
    if (STATE_CHANGING.has(c.req.method)) {
      const origin = c.req.header("origin");
      const own = (host as string).toLowerCase();
      // https too: an operator may put TLS in front of the listener.
      if (origin !== undefined && origin.toLowerCase() !== `http://${own}` && origin.toLowerCase() !== `https://${own}`) {
        throw new AdminError(403, "cross_origin_refused", `changes are refused from another origin (${origin})`);
      }
      const site = c.req.header("sec-fetch-site");
      if (site !== undefined && site !== "same-origin" && site !== "none") {
        throw new AdminError(403, "cross_origin_refused", `changes are refused from a ${site} page`);
      }
      if (mediaType(c.req.header("content-type")) !== "application/json") {
        throw new AdminError(415, "unsupported_media_type", "changes take a JSON body: send Content-Type: application/json");
      }
    }
    await next();
  };
}
