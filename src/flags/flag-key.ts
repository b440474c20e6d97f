const PREFIX = "strangler.route.";

/** The OpenFeature flag that decides a route: `strangler.route.<routeId>`, with variants `legacy` and `target`. */
export function flagKeyFor(routeId: string): string {
  return PREFIX + routeId;
}

/** The route a flag key belongs to, or undefined for a key that is not one of ours. */
export function routeIdOfFlag(flagKey: string): string | undefined {
  return flagKey.startsWith(PREFIX) ? flagKey.slice(PREFIX.length) : undefined;
}
