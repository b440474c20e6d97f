import process from "node:process";
import type { RouteConfig, StranglerConfigInput } from "../config/schema.ts";
import type { MigrationMap, TemplateView } from "./map-view.ts";
import { OVERFLOW_TEMPLATE } from "./traffic-map.ts";

type RouteInput = NonNullable<StranglerConfigInput["routes"]>[number];

/** A likely service boundary: unclaimed templates under one prefix, and the config that would claim them. */
export interface Suggestion {
  /** The templates' common first segments, e.g. `/api/users`. */
  readonly prefix: string;
  readonly requests: number;
  /** Of all requests in the map's window. */
  readonly share: number;
  readonly templates: ReadonlyArray<{ readonly method: string; readonly template: string; readonly requests: number }>;
  /** The backend for the service that takes the prefix over: its URL a placeholder, unless `declared` already. */
  readonly backend: { readonly name: string; readonly url: string; readonly declared: boolean };
  /** Routes claiming every template, at 0% (shadowed where they only read), ready for routes.config.ts. */
  readonly routes: readonly RouteInput[];
  /** The same as TypeScript to paste: a backends entry and the routes. */
  readonly snippet: string;
}

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The prefix that groups a template: its first two segments (one when `api`-less and short). */
export function prefixOf(template: string): string {
  const segments = template.slice(1).split("/");
  const literal = (s: string | undefined) => s !== undefined && !s.startsWith(":") && s !== "*" && s !== "";
  const first = segments[0];
  const second = segments[1];
  if (literal(first) && literal(second) && (first === "api" || /^v\d+$/.test(first as string))) return `/${first}/${second}`;
  return literal(first) ? `/${first}` : "/";
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");

/** A route id for a template, e.g. `/api/users/:id` → `users-by-id`, `/api/cart/:id/items` POST → `cart-by-id-items-post`. */
export function routeIdFor(method: string, template: string): string {
  const parts = template
    .slice(1)
    .split("/")
    .filter((s, i) => !(i === 0 && (s === "api" || /^v\d+$/.test(s))))
    .map((s) => (s.startsWith(":") ? "by-id" : s === "*" ? "rest" : slug(s)))
    .filter(Boolean);
  const base = parts.join("-") || "root";
  return READS.has(method) ? base : `${base}-${method.toLowerCase()}`;
}

/**
 * Where to cut next: the busiest unclaimed templates, grouped by prefix, the busiest groups first, each
 * with the routes that would claim it. One route per template and method family (reads together, each
 * write on its own, since a write is not shadowed).
 */
export function suggestCuts(map: MigrationMap, existing: readonly RouteConfig[], backendNames: readonly string[], limit = 5): Suggestion[] {
  const declared = new Set(backendNames);
  const unclaimed = map.rows.filter((r) => r.route === null && r.template !== OVERFLOW_TEMPLATE);
  const groups = new Map<string, TemplateView[]>();
  for (const row of unclaimed) {
    const prefix = prefixOf(row.template);
    const list = groups.get(prefix);
    if (list) list.push(row);
    else groups.set(prefix, [row]);
  }
  const taken = new Set(existing.map((r) => r.id));
  const unique = (id: string) => {
    let candidate = id;
    for (let i = 2; taken.has(candidate); i++) candidate = `${id}-${i}`;
    taken.add(candidate);
    return candidate;
  };
  return [...groups.entries()]
    .map(([prefix, rows]) => ({ prefix, rows, requests: rows.reduce((sum, r) => sum + r.requests, 0) }))
    .sort((a, b) => b.requests - a.requests || (a.prefix < b.prefix ? -1 : 1))
    .slice(0, limit)
    .map(({ prefix, rows, requests }) => {
      const name = slug(prefix.split("/").filter(Boolean).pop() ?? "service").replace(/-/g, "_").replace(/^([^a-z])/, "s$1") || "service";
      const backend = { name, url: `http://${name.replace(/_/g, "-")}.internal:8080`, declared: declared.has(name) };
      // Reads of one template share a route; each write method gets its own.
      const byRoute = new Map<string, { template: string; methods: Set<string>; read: boolean }>();
      for (const r of [...rows].sort((a, b) => (a.template < b.template ? -1 : a.template > b.template ? 1 : a.method < b.method ? -1 : 1))) {
        const read = READS.has(r.method);
        const key = `${r.template} ${read ? "read" : r.method}`;
        const entry = byRoute.get(key);
        if (entry) entry.methods.add(r.method);
        else byRoute.set(key, { template: r.template, methods: new Set([r.method]), read });
      }
      const routes: RouteInput[] = [...byRoute.values()].map(({ template, methods, read }) => ({
        id: unique(routeIdFor(read ? "GET" : ([...methods][0] as string), template)),
        match: { methods: [...methods] as RouteInput["match"]["methods"], path: template },
        target: name,
        rollout: { percent: 0 },
        ...(read ? { shadow: { percent: 100 } } : {}),
      }));
      const share = map.requests === 0 ? 0 : requests / map.requests;
      const snippet = [
        `// ${prefix}: ${requests} requests (${(share * 100).toFixed(1)}% of all), ${rows.length} endpoint${rows.length === 1 ? "" : "s"} the monolith alone serves`,
        ...(backend.declared
          ? [`// backends: ${name} is declared already`]
          : ["// backends: the service that takes it over", `${name}: { url: process.env.${name.toUpperCase()}_URL ?? ${JSON.stringify(backend.url)} },`]),
        "// routes: at 0% until the service is ready; reads shadowed to compare it with the monolith",
        ...routes.map((r) => `${toTs(r)},`),
      ].join("\n");
      return { prefix, requests, share, templates: rows.map((r) => ({ method: r.method, template: r.template, requests: r.requests })), backend, routes, snippet };
    });
}

/** A route as a TypeScript object literal on one line (keys unquoted where they may be). */
function toTs(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(toTs).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{ ${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${toTs(v)}`)
      .join(", ")} }`;
  }
  return JSON.stringify(value);
}
