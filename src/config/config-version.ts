import { createHash } from "node:crypto";
import type { RouteConfig } from "./schema.ts";

const versions = new WeakMap<RouteConfig, string>();

/**
 * A route's config version: the first 12 hex digits of the SHA-256 of its validated config. Two exchanges
 * recorded under the same rules carry the same version, and a reload that changes the route changes it.
 * Remembered per config object (a reload makes new ones), so it is hashed once per route per reload.
 */
export function routeConfigVersion(route: RouteConfig): string {
  let version = versions.get(route);
  if (version === undefined) {
    version = createHash("sha256").update(JSON.stringify(route)).digest("hex").slice(0, 12);
    versions.set(route, version);
  }
  return version;
}
