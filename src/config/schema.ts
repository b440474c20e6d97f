import { z } from "zod";
import { isValidPathTemplate } from "../routing/path-template.ts";

/** HTTP methods a route may name; `*` means any. */
export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

const backendName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, "must be lower-case letters, digits, '-' or '_', starting with a letter");

/** One upstream the proxy can send to: the monolith or an extracted service. */
export const backendSchema = z.strictObject({
  /** Base URL, `http://host:port` with an optional base path that is prefixed to every forwarded path. */
  url: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }),
  /** How long to wait for a TCP (and TLS) connection before answering 504. Default 2000 ms. */
  connectTimeoutMs: z.number().int().positive().max(600_000).default(2_000),
  /** How long to wait for the response headers before answering 504. Default 30000 ms. */
  responseTimeoutMs: z.number().int().positive().max(3_600_000).default(30_000),
  /** Longest silence allowed between two body chunks, either way, before the exchange is cut. Default 60000 ms. */
  bodyTimeoutMs: z.number().int().positive().max(3_600_000).default(60_000),
  /** Keep-alive connections the proxy may hold open to this backend. Default 128. */
  maxSockets: z.number().int().min(1).max(10_000).default(128),
});

const pathTemplate = z.string().superRefine((value, ctx) => {
  const problem = isValidPathTemplate(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const method = z
  .string()
  .transform((m) => m.toUpperCase())
  .pipe(z.enum(HTTP_METHODS, { error: (i) => `must be one of ${HTTP_METHODS.join(", ")}, got ${JSON.stringify(i.input)}` }));

/** Which requests a route claims. */
export const matchSchema = z.strictObject({
  /** Methods this route claims; omitted or `"*"` claims every method. */
  methods: z.union([z.literal("*"), z.array(method).min(1, "must name at least one method")]).default("*"),
  /** Path template: literal segments, `:name` for one segment, and a trailing `/*` for any rest (zero or more segments). */
  path: pathTemplate,
  /** Header conditions, all of which must hold: a string is an exact value, `true` means present. Names are case-insensitive. */
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "must be a valid header name"), z.union([z.string(), z.literal(true)]))
    .optional(),
});

/** The share of traffic a route sends to its target, in percent. */
export const percentSchema = z
  .number({ error: (i) => (i.input === undefined ? "is required" : `must be a number between 0 and 100, got ${JSON.stringify(i.input)}`) })
  .refine((n) => Number.isFinite(n) && n >= 0 && n <= 100, {
    error: (i) => `must be between 0 and 100, got ${String(i.input)}`,
  })
  .refine((n) => Math.abs(n * 100 - Math.round(n * 100)) < 1e-6, {
    error: (i) => `resolution is 0.01, got ${String(i.input)}`,
  });

export const routeSchema = z.strictObject({
  /** Stable id, used in metrics, flags and the admin API: lower-case letters, digits, '.', '-', '_'. */
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,79}$/, "must be 1-80 lower-case letters, digits, '.', '-' or '_'"),
  match: matchSchema,
  /** Backend that served this endpoint before the migration. Default `legacy`. */
  legacy: backendName.default("legacy"),
  /** Backend (an extracted service) that now owns this endpoint. */
  target: backendName,
  rollout: z.strictObject({ percent: percentSchema }),
});

export const configSchema = z
  .strictObject({
    /** Named backends; `legacy` (the monolith) is required and receives everything no route claims. */
    backends: z.record(backendName, backendSchema),
    routes: z.array(routeSchema).default([]),
    /** Response header naming the backend that answered; `false` turns it off. Default `x-served-by`. */
    servedByHeader: z
      .union([z.literal(false), z.string().regex(/^[a-z0-9-]+$/, "must be a lower-case header name")])
      .default("x-served-by"),
  })
  .superRefine((config, ctx) => {
    if (!config.backends.legacy) {
      ctx.addIssue({ code: "custom", path: ["backends", "legacy"], message: "is required: it serves every request no route claims" });
    }
    const seen = new Map<string, number>();
    config.routes.forEach((route, index) => {
      const first = seen.get(route.id);
      if (first !== undefined) {
        ctx.addIssue({ code: "custom", path: ["routes", index, "id"], message: `duplicate route id "${route.id}" (also routes[${first}])` });
      } else {
        seen.set(route.id, index);
      }
      for (const field of ["legacy", "target"] as const) {
        if (!config.backends[route[field]]) {
          ctx.addIssue({
            code: "custom",
            path: ["routes", index, field],
            message: `unknown backend "${route[field]}"; declared backends: ${Object.keys(config.backends).join(", ")}`,
          });
        }
      }
    });
  });

/** The config as written in `routes.config.ts` (defaults optional). */
export type StranglerConfigInput = z.input<typeof configSchema>;
/** The config after validation, with every default filled in. */
export type StranglerConfig = z.output<typeof configSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type BackendConfig = z.output<typeof backendSchema>;
