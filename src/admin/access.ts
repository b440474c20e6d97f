/**
 * Who may do what on the admin API: each token has a role (viewer < operator < admin) and may be limited
 * to some routes. A token's role comes from `STRANGLER_ADMIN_TOKENS` (`label:role:token`), from
 * `admin.grants` in routes.config.ts, or from `admin.defaultRole`; when the two sources disagree the
 * lesser role applies (a grant in the config can narrow a token, never widen one behind the config's back).
 */

/** Every read; operate the migration (percentages, promotion, resume, recordings, replays); everything. */
export const ADMIN_ROLES = ["viewer", "operator", "admin"] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

const RANK: Readonly<Record<AdminRole, number>> = { viewer: 0, operator: 1, admin: 2 };

export function isAdminRole(value: string): value is AdminRole {
  return (ADMIN_ROLES as readonly string[]).includes(value);
}

/** True when `held` is `needed` or above it. */
export function roleCovers(held: AdminRole, needed: AdminRole): boolean {
  return RANK[held] >= RANK[needed];
}

/** The lesser of two roles. */
export function lesserRole(a: AdminRole, b: AdminRole): AdminRole {
  return RANK[a] <= RANK[b] ? a : b;
}

/** What `admin.grants` says of one token label. */
export interface GrantConfig {
  readonly role: AdminRole;
  /** Route ids or globs (`payments-*`) the token may change; absent: every route. Reads are never limited. */
  readonly routes?: readonly string[] | undefined;
}

/** What the admin settings say about roles (the slice of `admin` this module reads). */
export interface AccessConfig {
  readonly defaultRole: AdminRole;
  readonly grants: Readonly<Record<string, GrantConfig>>;
}

/** One caller's rights, settled per request from its token and the config in force. */
export interface Grant {
  /** The token's label: the actor in the audit trail. */
  readonly label: string;
  readonly role: AdminRole;
  /** The globs of the routes it may change, or null for every route. */
  readonly routes: readonly string[] | null;
}

/** The caller when no token is configured: the listener is on loopback only, and whoever reaches it is trusted. */
export const LOOPBACK_GRANT: Grant = { label: "anonymous@loopback", role: "admin", routes: null };

/** The grant of a token: its own role (from the environment) and the config's, the lesser of the two. */
export function grantFor(label: string, tokenRole: AdminRole | undefined, access: AccessConfig): Grant {
  const configured = access.grants[label];
  const fromConfig = configured?.role ?? (tokenRole === undefined ? access.defaultRole : undefined);
  const role = tokenRole !== undefined && fromConfig !== undefined ? lesserRole(tokenRole, fromConfig) : (tokenRole ?? fromConfig ?? access.defaultRole);
  return { label, role, routes: configured?.routes ? [...configured.routes] : null };
}

/** `payments-*` as a whole-id pattern: `*` is any run of characters, everything else itself. */
function globPattern(glob: string): RegExp {
  return new RegExp(`^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, "\\$&")).join(".*")}$`);
}

const compiled = new Map<string, RegExp>();

/** True when the grant may change this route (its role aside). */
export function grantCoversRoute(grant: Grant, routeId: string): boolean {
  return grant.routes === null || routeMatches(grant.routes, routeId);
}

/** True when a route id matches one of the globs (`payments-*`): a grant's routes, a webhook's. */
export function routeMatches(globs: readonly string[], routeId: string): boolean {
  return globs.some((glob) => {
    let pattern = compiled.get(glob);
    if (!pattern) {
      // Bounded: the globs are the config's, a handful.
      if (compiled.size > 1_000) compiled.clear();
      pattern = globPattern(glob);
      compiled.set(glob, pattern);
    }
    return pattern.test(routeId);
  });
}

/** What the admin app's middleware leaves for the handlers: who is asking, and what they may do. */
export type AdminEnv = { Variables: { actor: string; grant: Grant } };
