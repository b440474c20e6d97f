import type { Context, Next } from "hono";
import { grantCoversRoute, roleCovers, type AdminEnv, type AdminRole, type Grant } from "./access.ts";
import { AdminError } from "./admin-error.ts";
import { endpointAccess } from "./endpoint-roles.ts";

/** How the middleware finds the route of an endpoint that names a signature or a recording instead. */
export interface RouteLookups {
  readonly signatureRoute: (id: number) => Promise<string | undefined>;
  readonly recordingRoute: (id: number) => Promise<string | undefined>;
}

/** 403 `forbidden` naming the role the call needs and the one the token has. */
export function roleRefusal(grant: Grant, needed: AdminRole, what: string): AdminError {
  return new AdminError(403, "forbidden", `${what} needs role ${needed}; token "${grant.label}" has role ${grant.role}`, { required: needed, role: grant.role });
}

/** 403 `forbidden_route`: the token may change other routes, not this one. */
export function routeRefusal(grant: Grant, routeId: string): AdminError {
  return new AdminError(403, "forbidden_route", `token "${grant.label}" may change routes ${(grant.routes ?? []).join(", ")} only, not "${routeId}"`, { routes: grant.routes, route: routeId });
}

/** Refuses a change to a route outside the grant's routes (for handlers that find more routes in a body). */
export function assertRouteGranted(grant: Grant, routeId: string): void {
  if (!grantCoversRoute(grant, routeId)) throw routeRefusal(grant, routeId);
}

const asId = (raw: string | undefined) => {
  const id = Number(raw);
  return Number.isInteger(id) && id > 0 ? id : undefined;
};

/**
 * After authentication: refuses a call the token's role does not cover (403 naming the role needed), and
 * a change to a route outside the token's routes. The role comes from ENDPOINT_ACCESS; a signature or
 * recording that does not exist is left to the handler's 404.
 */
export function authorize(lookups: RouteLookups) {
  return async (c: Context<AdminEnv>, next: Next): Promise<void> => {
    const grant = c.get("grant");
    const { access, params } = endpointAccess(c.req.method, c.req.path);
    if (!roleCovers(grant.role, access.role)) throw roleRefusal(grant, access.role, `${access.method} ${access.path}`);
    if (grant.routes !== null && access.routeOf !== "none") {
      const routeId =
        access.routeOf === "id"
          ? params.id
          : access.routeOf === "signature"
            ? await lookup(lookups.signatureRoute, params.signatureId)
            : await lookup(lookups.recordingRoute, params.recordingId);
      if (routeId !== undefined) assertRouteGranted(grant, routeId);
    }
    await next();
  };
}

async function lookup(find: (id: number) => Promise<string | undefined>, raw: string | undefined): Promise<string | undefined> {
  const id = asId(raw);
  return id === undefined ? undefined : find(id);
}
