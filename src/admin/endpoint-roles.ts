import type { AdminRole } from "./access.ts";

/** How an endpoint names the route it changes, so a token limited to some routes can be checked. */
export type RouteOf =
  /** The `:id` path parameter is the route. */
  | "id"
  /** The route of the divergence signature `:signatureId`. */
  | "signature"
  /** The route of the recording `:recordingId`. */
  | "recording"
  /** Not one route's (reads, or a route named some other way and checked by the handler). */
  | "none";

export interface EndpointAccess {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** As registered with Hono: `:param` segments. */
  readonly path: string;
  readonly role: AdminRole;
  readonly routeOf: RouteOf;
}

const read = (path: string): EndpointAccess => ({ method: "GET", path, role: "viewer", routeOf: "none" });
const change = (method: EndpointAccess["method"], path: string, role: AdminRole, routeOf: RouteOf): EndpointAccess => ({ method, path, role, routeOf });

/**
 * The role each `/api` endpoint needs: the one table the API enforces, the OpenAPI document shows
 * (`x-strangler-role`) and the cockpit reads to hide what a token may not do. Every read needs `viewer`;
 * running the migration needs `operator`; what is hard to undo (retire, re-roll who is in, reset the
 * evidence a guard judges) or reaches beyond the config's backends needs `admin`. An endpoint missing
 * here needs `admin` (test/e2e/admin-roles.test.ts fails first).
 */
export const ENDPOINT_ACCESS: readonly EndpointAccess[] = [
  read("/api/session"),
  read("/api/routes"),
  read("/api/routes/:id"),
  read("/api/routes/:id/history"),
  read("/api/routes/:id/migration"),
  read("/api/routes/:id/shadow"),
  read("/api/routes/:id/divergences"),
  read("/api/backends"),
  read("/api/backends/:name"),
  read("/api/overview"),
  read("/api/audit"),
  read("/api/fleet"),
  read("/api/map"),
  read("/api/map/suggest"),
  read("/api/recordings"),
  read("/api/recordings/:recordingId"),
  read("/api/recordings/:recordingId/exchanges"),
  read("/api/recordings/:recordingId/export"),
  read("/api/recordings/:recordingId/replays"),
  read("/api/replays/:runId"),
  read("/api/webhooks"),
  read("/api/webhooks/:name"),
  change("PUT", "/api/routes/:id/rollout", "operator", "id"),
  change("POST", "/api/routes/:id/rollback", "operator", "id"),
  change("POST", "/api/routes/:id/promotion/start", "operator", "id"),
  change("POST", "/api/routes/:id/promotion/pause", "operator", "id"),
  change("POST", "/api/routes/:id/promotion/resume", "operator", "id"),
  change("POST", "/api/routes/:id/promotion/step", "operator", "id"),
  // At least operator; a route whose gate names admin as its approvers asks for admin (the handler checks).
  change("POST", "/api/routes/:id/promotion/approve", "operator", "id"),
  change("POST", "/api/routes/:id/resume", "operator", "id"),
  change("POST", "/api/routes/:id/noise", "operator", "id"),
  change("POST", "/api/routes/:id/recordings", "operator", "id"),
  change("POST", "/api/recordings/:recordingId/stop", "operator", "recording"),
  change("DELETE", "/api/recordings/:recordingId", "operator", "recording"),
  // A replay against a URL that is no configured backend needs admin: the handler checks it.
  change("POST", "/api/recordings/:recordingId/replays", "operator", "recording"),
  change("POST", "/api/divergences/:signatureId/acknowledge", "operator", "signature"),
  change("POST", "/api/divergences/:signatureId/examples/:exampleId/replay", "operator", "signature"),
  change("POST", "/api/routes/:id/reroll", "admin", "id"),
  change("POST", "/api/routes/:id/retire", "admin", "id"),
  change("POST", "/api/routes/:id/shadow/reset", "admin", "id"),
  // Sends a request from the proxy to the receiver: an admin's, like a replay against a URL.
  change("POST", "/api/webhooks/:name/test", "admin", "none"),
];

const segments = (path: string) => path.split("/").filter(Boolean);

interface Compiled {
  readonly entry: EndpointAccess;
  readonly parts: readonly string[];
}

const table: readonly Compiled[] = ENDPOINT_ACCESS.map((entry) => ({ entry, parts: segments(entry.path) }));

/** What an endpoint needs when the table does not list it: reads a viewer, anything else admin (closed by default). */
function unlisted(method: string, path: string): EndpointAccess {
  return method === "GET" || method === "HEAD" ? read(path) : { method: "POST", path, role: "admin", routeOf: "none" };
}

/**
 * The table's entry for a request, with the values of its `:param` segments. A literal segment wins over
 * a parameter (`/api/map/suggest` before `/api/map/:x`, were there one).
 */
export function endpointAccess(method: string, path: string): { access: EndpointAccess; params: Record<string, string> } {
  const wanted = method === "HEAD" ? "GET" : method;
  const given = segments(path);
  let best: { access: EndpointAccess; params: Record<string, string>; literals: number } | undefined;
  for (const { entry, parts } of table) {
    if (entry.method !== wanted || parts.length !== given.length) continue;
    const params: Record<string, string> = {};
    let literals = 0;
    let matches = true;
    for (let i = 0; i < parts.length && matches; i++) {
      const part = parts[i] as string;
      const value = given[i] as string;
      if (part.startsWith(":")) params[part.slice(1)] = safeDecode(value);
      else if (part === value) literals++;
      else matches = false;
    }
    if (matches && (!best || literals > best.literals)) best = { access: entry, params, literals };
  }
  return best ?? { access: unlisted(wanted, path), params: {} };
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
