import { Buffer } from "node:buffer";
import { secretsMatch } from "../decision/forced-routing.ts";
import { isAdminRole, type AdminRole } from "./access.ts";

/** A bearer token that may use the admin API; its label names the actor in the audit log. */
export interface AdminToken {
  readonly label: string;
  readonly token: string;
  /** The role given with the token (`label:role:token`); absent, the config's grant or default decides. */
  readonly role?: AdminRole;
}

/** Thrown when the admin listener must not start as configured. */
export class AdminConfigError extends Error {
  readonly code = "invalid_admin_config";
  override name = "AdminConfigError";
}

const LABEL = /^[A-Za-z0-9._@-]{1,64}$/;

/**
 * Reads admin tokens from the environment: `STRANGLER_ADMIN_TOKENS="alice:<token>,grafana:viewer:<token>"`
 * (an optional role between label and token: viewer, operator or admin), or a single
 * `STRANGLER_ADMIN_TOKEN=<token>` (label `admin`). Tokens must be at least 16 characters.
 */
export function adminTokensFromEnv(env: NodeJS.ProcessEnv): AdminToken[] {
  const tokens: AdminToken[] = [];
  if (env.STRANGLER_ADMIN_TOKEN) tokens.push({ label: "admin", token: env.STRANGLER_ADMIN_TOKEN });
  for (const entry of (env.STRANGLER_ADMIN_TOKENS ?? "").split(",").map((e) => e.trim()).filter(Boolean)) {
    const colon = entry.indexOf(":");
    if (colon <= 0) throw new AdminConfigError(`STRANGLER_ADMIN_TOKENS: entries are label:token, got one without a label`);
    const label = entry.slice(0, colon);
    const rest = entry.slice(colon + 1);
    // `label:role:token` when the middle part is a role's name; otherwise the whole rest is the token.
    const second = rest.indexOf(":");
    const role = second > 0 ? rest.slice(0, second) : "";
    tokens.push(isAdminRole(role) ? { label, role, token: rest.slice(second + 1) } : { label, token: rest });
  }
  for (const { label, token } of tokens) {
    if (!LABEL.test(label)) throw new AdminConfigError(`admin token label ${JSON.stringify(label)}: must be 1-64 letters, digits, '.', '_', '@' or '-'`);
    if (token.length < 16) throw new AdminConfigError(`admin token "${label}": must be at least 16 characters`);
  }
  return tokens;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Refuses an admin listener reachable from the network without a token. */
export function checkAdminExposure(host: string, tokens: readonly AdminToken[]): void {
  if (tokens.length === 0 && !LOOPBACK.test(host)) {
    throw new AdminConfigError(
      `the admin listener would listen on ${host} without a token: set STRANGLER_ADMIN_TOKEN (or STRANGLER_ADMIN_TOKENS), or keep ADMIN_HOST on 127.0.0.1`,
    );
  }
}

/** The token in `Bearer <token>`, or the password of `Basic base64(user:token)` (what a browser sends for the dashboard). */
function presentedToken(authorization: string | undefined): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? "");
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1] as string, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/**
 * The token presented in an `Authorization` header (Bearer, or Basic with the token as the
 * password), or undefined. Every configured token is compared, in constant time, whatever matches first.
 */
export function tokenOf(authorization: string | undefined, tokens: readonly AdminToken[]): AdminToken | undefined {
  const given = presentedToken(authorization);
  if (given === undefined || given === "") return undefined;
  let found: AdminToken | undefined;
  for (const entry of tokens) if (secretsMatch(given, entry.token) && found === undefined) found = entry;
  return found;
}
