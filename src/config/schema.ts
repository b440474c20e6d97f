import type { Provider } from "@openfeature/server-sdk";
import { z } from "zod";
import { ADMIN_ROLES } from "../admin/access.ts";
import { WEBHOOK_EVENTS } from "../webhooks/event-names.ts";
import { isValidPathTemplate } from "../routing/path-template.ts";
import { pathRewriteProblem } from "../routing/path-rewrite.ts";
import { isPathPattern } from "../json/json-path.ts";
import { trustedEntryProblem } from "../edge/trusted-proxies.ts";

/** The code of the issues this schema's own rules raise. */
// Stryker disable next-line StringLiteral: equivalent — zod passes a custom issue's message through whatever its code says
const CUSTOM = "custom" as const;

/** HTTP methods a route may name; `*` means any. */
export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

const backendName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, "must be lower-case letters, digits, '-' or '_', starting with a letter");

const backendUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });
const httpStatus = z.number().int().min(100, "must be a status from 100 to 599").max(599, "must be a status from 100 to 599");

/**
 * Active health checks of a backend's destinations: each is asked `GET path` every `intervalMs`. A
 * destination failing `unhealthyThreshold` checks in a row gets no new requests until it passes
 * `healthyThreshold` in a row; when every destination is unhealthy, all of them get traffic again (fail
 * open). A new destination is in service until its first checks say otherwise.
 */
export const healthCheckSchema = z
  .strictObject({
    /** The path asked on each destination, after the backend's base path: `/healthz`. */
    path: z.string().regex(/^\/[^\s#]*$/, "must be a path starting with '/' (no spaces or '#')").max(2_048),
    /** How often each destination is checked. Default 5000 ms. */
    intervalMs: z.number().int().min(100).max(3_600_000).default(5_000),
    /** How long a check waits for its answer's head before it counts as failed. Default 2000 ms. */
    timeoutMs: z.number().int().min(10).max(600_000).default(2_000),
    /** Passing checks in a row that bring an unhealthy destination back. Default 2. */
    healthyThreshold: z.number().int().min(1).max(100).default(2),
    /** Failing checks in a row that take a destination out. Default 3. */
    unhealthyThreshold: z.number().int().min(1).max(100).default(3),
    /** The statuses that pass: one, or a list. Default any 2xx. */
    expectStatus: z.union([httpStatus, z.array(httpStatus).min(1)], { error: "must be a status (100-599) or a list of them" }).optional(),
  })
  .superRefine((check, ctx) => {
    if (check.timeoutMs >= check.intervalMs) ctx.addIssue({ code: CUSTOM, path: ["timeoutMs"], message: `${check.timeoutMs} must be shorter than intervalMs (${check.intervalMs}): a check must end before the next starts` });
  });

/**
 * Retrying a request on another destination of the same backend, when it failed before any byte of the
 * answer (a connection refused or reset) and may be sent twice. Retries in flight are bounded: at most
 * `budgetPercent` of the backend's requests in flight, and never fewer than `minConcurrent` allowed.
 */
export const retriesSchema = z.strictObject({
  /** Retries in flight, as a share of the backend's requests in flight, in percent; past it a failed attempt is not retried (counted). Default 20 (Envoy's retry budget). @limit */
  budgetPercent: z.number().min(0).max(100).default(20),
  /** Retries in flight always allowed, whatever the share. Default 3. @limit */
  minConcurrent: z.number().int().min(0).max(10_000).default(3),
});

/** One upstream the proxy can send to: the monolith or an extracted service. */
export const backendSchema = z.strictObject({
  /**
   * Base URL, `http://host:port` with an optional base path that is prefixed to every forwarded path.
   * Exactly one of `url` and `urls`.
   */
  url: backendUrl.optional(),
  /**
   * Several instances of the backend (destinations), balanced by the fewer requests in flight of two
   * picked at random; each has its own connection pool and circuit breaker. They share one base path.
   * Exactly one of `url` and `urls`. @limit
   */
  urls: z.array(backendUrl).min(1, "must name at least one URL").max(64).optional(),
  /** Active health checks of every destination; off when absent (a destination is then taken out only by its circuit breaker). */
  healthCheck: healthCheckSchema.optional(),
  /**
   * How often a destination named by a host name is resolved again, so that a pool behind DNS (a
   * Kubernetes headless Service) is followed as it scales: each address is a destination, and one that
   * left is drained. A connection error resolves again at once (at most once a second). IPv4 addresses are
   * preferred when there are both. 0: not resolved by the proxy (each new connection resolves). Default 5000 ms.
   */
  dnsRefreshMs: z.number().int().min(0).max(3_600_000).default(5_000),
  /** Retries on another destination within a budget; `false` for none. Default 20% of requests in flight, at least 3. */
  retries: z.union([z.literal(false), retriesSchema], { error: "must be false or { budgetPercent, minConcurrent }" }).default({ budgetPercent: 20, minConcurrent: 3 }),
  /** How long to wait for a TCP (and TLS) connection before answering 504 `upstream_connect_timeout`. Default 2000 ms. */
  connectTimeoutMs: z.number().int().positive().max(600_000).default(2_000),
  /** How long to wait for the response headers before answering 504 `upstream_timeout` (also a WebSocket handshake's limit). Default 30000 ms. */
  responseTimeoutMs: z.number().int().positive().max(3_600_000).default(30_000),
  /** Longest silence allowed between two body chunks, either way, before the exchange is cut. Default 60000 ms. */
  bodyTimeoutMs: z.number().int().positive().max(3_600_000).default(60_000),
  /** Keep-alive connections the proxy may hold open to this backend. Default 128. */
  maxSockets: z.number().int().min(1).max(10_000).default(128),
  /** How long an idle connection to this backend is kept for reuse (keep it under the backend's own keep-alive timeout). Default 4000 ms. */
  keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(4_000),
  /**
   * Requests allowed to wait for a free connection to this backend (Envoy's `max_pending_requests`).
   * Beyond it the proxy answers 503 `upstream_overloaded` at once instead of queueing. Default 1024.
   */
  maxPendingRequests: z.number().int().min(0).max(1_000_000).default(1_024),
  /**
   * Connections to this backend that requests still streaming their body may hold at once; beyond it such
   * requests get 503 `upstream_overloaded`, so slow uploads can never take every connection. Default half
   * of `maxSockets`.
   */
  maxStreamingUploads: z.number().int().min(1).max(10_000).optional(),
  /** After this many transport failures in a row, stop sending for `cooldownMs`, then let one probe through. */
  circuitBreaker: z
    .strictObject({
      /** Transport failures in a row (a connection refused or reset, a timeout) that open the breaker. Default 5. @limit */
      failures: z.number().int().min(1).default(5),
      /** How long an open breaker sends nothing (503 `circuit_open`, or the fallback) before one probe. Default 10000 ms. */
      cooldownMs: z.number().int().min(100).default(10_000),
    })
    .default({ failures: 5, cooldownMs: 10_000 }),
})
  .superRefine((backend, ctx) => {
    if ((backend.url === undefined) === (backend.urls === undefined)) {
      ctx.addIssue({ code: CUSTOM, path: backend.url === undefined ? ["url"] : ["urls"], message: backend.url === undefined ? "is required (or urls: a list of instances)" : "cannot be set beside url: name one URL (url) or several (urls)" });
      return;
    }
    const urls = backend.urls ?? [];
    const paths = new Set(urls.map((u) => basePathOf(u)));
    if (paths.size > 1) ctx.addIssue({ code: CUSTOM, path: ["urls"], message: `every instance must have the same base path, got ${[...paths].map((p) => JSON.stringify(p || "/")).join(" and ")}` });
    if (new Set(urls.map((u) => new URL(u).origin)).size < urls.length) ctx.addIssue({ code: CUSTOM, path: ["urls"], message: "names the same instance twice" });
  })
  .transform(({ url, urls, ...rest }) => {
    const all = urls ?? [url as string];
    // `url` stays the first instance's, for what needs one address (a replay's default, the map's suggestions).
    return { ...rest, url: all[0] as string, urls: all };
  });

/** A backend URL's base path without its trailing slash ("" for none). */
export function basePathOf(url: string): string {
  return new URL(url).pathname.replace(/\/+$/, "");
}

const pathTemplate = z.string().superRefine((value, ctx) => {
  const problem = isValidPathTemplate(value);
  if (problem) ctx.addIssue({ code: CUSTOM, message: problem });
});

const method = z
  .string()
  .transform((m) => m.toUpperCase())
  .pipe(z.enum(HTTP_METHODS, { error: (i) => `must be one of ${HTTP_METHODS.join(", ")}, got ${JSON.stringify(i.input)}` }));

/** Which requests a route claims. */
export const matchSchema = z.strictObject({
  /** Methods this route claims; omitted or `"*"` claims every method. */
  methods: z.union([z.literal("*"), z.array(method).min(1, "must name at least one method")], { error: 'must be "*" or a list of methods' }).default("*"),
  /** Path template: literal segments, `:name` for one segment, and a trailing `/*` for any rest (zero or more segments). */
  path: pathTemplate,
  /** Header conditions, all of which must hold: a string is an exact value, `true` means present. Names are case-insensitive. */
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "must be a valid header name"), z.union([z.string(), z.literal(true)], { error: "must be an exact value (a string) or true (present)" }))
    .optional(),
});

/** The share of traffic a route sends to its target, in percent. */
export const percentSchema = z
  .number({ error: (i) => (i.input === undefined ? "is required" : `must be a number between 0 and 100, got ${JSON.stringify(i.input)}`) })
  .refine((n) => Number.isFinite(n) && n >= 0 && n <= 100, {
    error: (i) => `must be between 0 and 100, got ${String(i.input)}`,
  })
  // Stryker disable next-line EqualityOperator: equivalent — no number lands exactly 1e-6 off a hundredth
  .refine((n) => Math.abs(n * 100 - Math.round(n * 100)) < 1e-6, {
    error: (i) => `resolution is 0.01, got ${String(i.input)}`,
  });

/**
 * Where a route's sticky key comes from: a header, a cookie, a query parameter, the client's address,
 * or `"random"` for a fresh split on every request. When the named header, cookie or parameter is
 * absent, the proxy's own id cookie keys the request (and is issued if the client has none).
 */
export const stickyKeySchema = z.union([
  z.literal("ip"),
  z.literal("random"),
  z.strictObject({ header: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "must be a valid header name").transform((h) => h.toLowerCase()) }),
  z.strictObject({ cookie: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "must be a valid cookie name") }),
  z.strictObject({ query: z.string().min(1, "must name a query parameter") }),
], { error: 'must be "ip", "random", { header: name }, { cookie: name } or { query: name }' });

export const rolloutSchema = z.strictObject({
  /** Initial share of users sent to the target, 0–100 (0.01 resolution). The admin API can override it. */
  percent: percentSchema,
  /** Where the sticky key comes from. Default `{ header: "x-user-id" }`. */
  key: stickyKeySchema.default({ header: "x-user-id" }),
});

/** Methods that may be sent twice without effect: shadowed, double-asked for noise, and replayed by default. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

/** A JSON path pattern (`$.items[*].price`), as ignore lists, array rules, redaction and noise take. */
export const pathPatternSchema = z.string().max(500).refine(isPathPattern, { error: (i) => `must be a JSON path such as "$.items[*].price", got ${JSON.stringify(i.input)}` });
const pathPattern = pathPatternSchema;

/** How the two answers of a shadowed request are compared. */
export const compareSchema = z.strictObject({
  /** Response headers compared, besides status and body. Default `["content-type"]`. */
  headers: z.array(z.string().regex(/^[a-z0-9-]+$/, "must be a lower-case header name")).default(["content-type"]),
  /** Body paths whose differences never count (`*` matches any key or index): `["$.meta.requestId"]`. */
  ignore: z.array(pathPattern).default([]),
  /**
   * How arrays are paired before their elements are diffed: `{ path, key: "sku" }` pairs by that field
   * (order then counts only with `ordered: true`); `{ path, unordered: true }` compares as a multiset.
   * Arrays without a rule are paired by an automatic key (below), else by element identity.
   */
  arrays: z
    .array(
      z.union([
        z.strictObject({ path: pathPattern, key: z.string().min(1), ordered: z.boolean().optional() }),
        z.strictObject({ path: pathPattern, unordered: z.literal(true) }),
      ], { error: "must be { path, key } or { path, unordered: true }" }),
    )
    .default([]),
  /**
   * Field names that pair an array of objects without a rule, when every element on both sides has a
   * unique value for one of them (tried in order); their order still counts. Default `["id"]`; `[]` for none.
   */
  keyNames: z.array(z.string().min(1)).default(["id"]),
  /** Numbers within this distance are equal. Default 0. */
  numericTolerance: z.number().min(0).default(0),
  /** ISO-8601 timestamps within this many milliseconds are equal. Default 0 (exact). */
  timestampToleranceMs: z.number().int().min(0).default(0),
});

/** Noise learning: the primary backend asked twice; what differs between its own answers is noise. */
export const noiseSchema = z.strictObject({
  /** Learn noise on this route (false: every difference counts, none is set aside). Default true. */
  learn: z.boolean().default(true),
  /** The first N shadowed reads of a route are all double-asked, to learn quickly. Default 20. */
  warmupSamples: z.number().int().min(0).default(20),
  /** After the warm-up, the share of shadowed reads double-asked (0–1). Default 0.05. */
  sampleRate: z.number().min(0).max(1).default(0.05),
  /** A path is noise once it differed between two answers of the same backend this many times. Default 2. */
  minOccurrences: z.number().int().min(1).default(2),
});

/** Shadow comparison of a route: a sample of requests also goes to the backend that did not answer. */
export const shadowSchema = z
  .strictObject({
    /** Share of the route's requests shadowed, 0–100. */
    percent: percentSchema,
    /** `sticky`: sampled by the request's sticky key (its own salt), so a user is shadowed consistently; `random`: per request. */
    sampling: z.enum(["sticky", "random"]).default("sticky"),
    /** Methods shadowed. Default GET, HEAD, OPTIONS: writes only with `shadowWrites`. */
    methods: z.array(method).min(1).default(["GET", "HEAD", "OPTIONS"]),
    /** Shadow writes too (for services with a dry-run mode); such shadow requests carry `x-strangler-shadow: 1`. */
    shadowWrites: z.boolean().default(false),
    /** Longest wait for the shadow's whole answer. Default 5000 ms. */
    timeoutMs: z.number().int().positive().max(600_000).default(5_000),
    /** Request bodies larger than this are not shadowed (counted `body_too_large`). Default 1 MiB. */
    maxBodyBytes: z.number().int().min(0).default(1024 * 1024),
    /** Responses larger than this are not compared (counted `response_too_large`). Default 4 MiB. */
    maxResponseBytes: z.number().int().min(1).default(4 * 1024 * 1024),
    compare: compareSchema.prefault({}),
    /** Body fields replaced by "[redacted]" before an example is stored (headers authorization, cookie and set-cookie always are). */
    redact: z
      .strictObject({
        /** JSON paths of the body fields redacted, as in `compare.ignore` (`$.customer.email`, `$.items[*].card`). Default none. */
        bodyFields: z.array(pathPattern).default([]),
      })
      .default({ bodyFields: [] }),
    noise: noiseSchema.prefault({}),
  })
  .superRefine((shadow, ctx) => {
    shadow.methods.forEach((m, i) => {
      if (!IDEMPOTENT_METHODS.has(m) && !shadow.shadowWrites) {
        ctx.addIssue({ code: CUSTOM, path: ["methods", i], message: `${m} is a write: set shadowWrites: true (for a service with a dry-run mode) to shadow it` });
      }
    });
  });

/** Automatic rollback: thresholds over a sliding window of the target's evidence. */
export const guardSchema = z
  .strictObject({
    /** The sliding window judged. Default 60000 ms. */
    windowMs: z.number().int().min(1_000).default(60_000),
    /** No verdict below this many target requests (for errors and latency) or comparisons (for divergence). Default 20. */
    minSamples: z.number().int().min(1).default(20),
    /** Trip when the target's share of 5xx answers and transport failures exceeds this (0–1). */
    maxErrorRate: z.number().min(0).max(1).optional(),
    /** Trip when the target's p99 latency exceeds the monolith's p99 for the same route times this. */
    maxP99Ratio: z.number().positive().optional(),
    /** Trip when the share of shadow comparisons that diverge exceeds this (0–1). */
    maxDivergenceRate: z.number().min(0).max(1).optional(),
    /** What a trip does to the percentage: back to 0, or to the previous promotion step. Default `zero`. */
    onTrip: z.enum(["zero", "previous_step"]).default("zero"),
  })
  .refine((g) => g.maxErrorRate !== undefined || g.maxP99Ratio !== undefined || g.maxDivergenceRate !== undefined, {
    error: "names no threshold: set maxErrorRate, maxP99Ratio or maxDivergenceRate",
  });

/** Progressive promotion: one step up per interval, when the interval's evidence passes. */
export const promoteSchema = z
  .strictObject({
    /** Percentages, rising, ending at 100. Default [1, 5, 25, 50, 100]. */
    steps: z.array(percentSchema).min(1).default([1, 5, 25, 50, 100]),
    /** Time at each step before the evidence is judged. Default 300000 ms. */
    intervalMs: z.number().int().min(1_000).default(300_000),
    /** Evidence needed at a step (shadow comparisons, and target requests when an error rate is set). Default 100. */
    minSamples: z.number().int().min(1).default(100),
    /**
     * The upper confidence bound of the divergence rate must be under this (0–1). Default 0.05: with no
     * divergence at all, 95% confidence needs about 75 comparisons to get under it.
     */
    maxDivergenceRate: z.number().min(0).max(1).default(0.05),
    /** The upper confidence bound of the target's error rate must be under this (0–1); unset to ignore errors. */
    maxErrorRate: z.number().min(0).max(1).optional(),
    /** Confidence of the bounds (Wilson score interval). Default 0.95. */
    confidence: z.number().min(0.5).max(0.999).default(0.95),
    /** Start promoting as soon as the route is loaded (otherwise start it through the admin API or CLI). Default false. */
    autoStart: z.boolean().default(false),
    /**
     * Approval gates: the promotion goes to these steps only after a yes, from a person (the cockpit, the
     * API, `strangler promote approve`) or from a confirming webhook. The evidence must still pass: a yes
     * never raises traffic by itself, and a guard's trip rolls back at once, waiting or not.
     */
    approval: z
      .strictObject({
        /** The percentages (some of `steps`) that wait for a yes before the promotion goes to them. */
        steps: z.array(percentSchema).min(1),
        /** The role a person needs to say yes: `operator` or `admin`. Default operator. */
        approvers: z.enum(["operator", "admin"]).default("operator"),
        /**
         * A webhook (the name of one in `webhooks`) asked while the step waits, about once per evaluation:
         * a 2xx is a yes (Flagger's confirm-promotion); anything else, or no answer in its timeoutMs, waits.
         */
        confirmWebhook: backendName.optional(),
        /** How long a step waits for its yes; then the promotion is paused where it is (`promotion.approval_expired`). Default 86400000 (24 h). @limit */
        timeoutMs: z.number().int().min(1_000).default(86_400_000),
      })
      .optional(),
  })
  .refine((p) => p.steps.every((v, i) => i === 0 || v > (p.steps[i - 1] as number)) && p.steps[p.steps.length - 1] === 100, {
    error: "steps must rise and end at 100",
    path: ["steps"],
  })
  .superRefine((p, ctx) => {
    p.approval?.steps.forEach((step, index) => {
      if (!p.steps.includes(step)) ctx.addIssue({ code: CUSTOM, path: ["approval", "steps", index], message: `${step} is not one of the promotion's steps (${p.steps.join(", ")})` });
      else if (step === p.steps[0]) ctx.addIssue({ code: CUSTOM, path: ["approval", "steps", index], message: `${step} is the first step, which starting the promotion takes: a person starts it already` });
    });
  });

/** Replaying a failed request to the monolith. */
export const fallbackSchema = z.strictObject({
  /** A write carrying this header (an idempotency key) may be replayed too; GET, HEAD and OPTIONS always may. */
  idempotencyKeyHeader: z.string().regex(/^[a-z0-9-]+$/, "must be a lower-case header name").optional(),
  /** Request bodies up to this size are buffered so they can be replayed; larger ones are not replayed. Default 1 MiB. */
  maxBodyBytes: z.number().int().min(0).default(1024 * 1024),
});

/**
 * Mozilla's "intermediate" TLS 1.2 suites: forward-secret AEAD only (every one HTTP/2 allows). TLS 1.3's
 * own suites are all strong and are OpenSSL's to choose.
 */
export const MODERN_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

const pemPath = z.string().min(1, "must be the path of a PEM file");

/** TLS termination on a listener: certificate files (paths relative to the config file), reloaded when they change. */
export const tlsSchema = z.strictObject({
  /** The certificate (PEM, the chain after it), served to clients that send no SNI or a name no other covers. */
  cert: pemPath,
  /** Its private key (PEM). */
  key: pemPath,
  /** More certificates, each chosen by the names in it (subjectAltName; exact names before `*.` wildcards) for the SNI a client sends. */
  certificates: z
    .array(
      z.strictObject({
        /** This certificate (PEM, the chain after it). */
        cert: pemPath,
        /** Its private key (PEM). */
        key: pemPath,
      }),
    )
    .max(1_000)
    .default([]),
  /** Lowest TLS version accepted; older clients fail the handshake. Default `TLSv1.2`. @limit */
  minVersion: z.enum(["TLSv1.2", "TLSv1.3"]).default("TLSv1.2"),
  /** OpenSSL cipher list for TLS 1.2. Default: forward-secret AEAD suites only (Mozilla's intermediate). */
  ciphers: z.string().min(1).default(MODERN_CIPHERS),
  /** How often the files are read to see a replaced certificate: a renewed one serves within it; 0 never. Default 500 ms. */
  reloadCheckMs: z.number().int().min(0).max(60_000).default(500),
  /** Longest a TLS handshake may take; then the connection is closed, counted as `tls_handshake_failed`. Default 10000 ms. */
  handshakeTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
});

/** HTTP/2 towards clients (backends are always spoken to in HTTP/1.1). */
export const http2Schema = z.strictObject({
  /** Offer h2 by ALPN on the TLS listener (HTTP/1.1 stays for clients that do not ask for h2). Default true. */
  enabled: z.boolean().default(true),
  /** On a plain listener, serve connections that start with HTTP/2's preface (h2c with prior knowledge, as meshes and some balancers send). Default false. */
  h2c: z.boolean().default(false),
  /** Streams a client may have open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused. Default 100. */
  maxConcurrentStreams: z.number().int().min(1).max(10_000).default(100),
  /**
   * Largest header list of a request, decoded (SETTINGS_MAX_HEADER_LIST_SIZE, names and values plus 32
   * bytes a field); a larger one has its stream reset (`ENHANCE_YOUR_CALM`), unanswered, and the
   * connection serves on. A header block that never ends (a CONTINUATION flood) is cut here too. It holds
   * once the client has acknowledged the proxy's SETTINGS, as every client does before its first request
   * in practice. Default 16384.
   */
  maxHeaderListBytes: z.number().int().min(1_024).max(1_048_576).default(16 * 1024),
  /** Each stream's receive window: request body bytes a client may send ahead of the proxy reading them. Default 65535. @limit */
  initialWindowSize: z.number().int().min(65_535).max(16 * 1024 * 1024).default(65_535),
  /** Memory one connection's HTTP/2 state may hold (buffered frames, header tables) before its new streams are refused. Default 10 MiB. */
  maxSessionMemoryMiB: z.number().int().min(1).max(1_024).default(10),
});

/** The data plane's listener: client-side bounds and timeouts, TLS, HTTP/2, the balancers trusted in front of it. */
export const serverSchema = z.strictObject({
  /**
   * Client connections open at once; a request on a connection beyond it gets 503 `too_many_connections`
   * and the connection is closed; at twice it, connections are dropped at accept. Default 10000.
   */
  maxConnections: z.number().int().min(1).max(1_000_000).default(10_000),
  /** Longest wait for a whole request head; then 408 `client_header_timeout` and the connection is closed (checked every second). Default 30000 ms. */
  headersTimeoutMs: z.number().int().min(1_000).max(600_000).default(30_000),
  /** Longest a whole request (head and body) may take; 0 for no limit (slow uploads are bounded by `clientBodyTimeoutMs`). Default 0. */
  requestTimeoutMs: z.number().int().min(0).max(3_600_000).default(0),
  /** Longest silence inside a request body; then 408 `client_body_timeout`, the connection is closed and the upstream exchange aborted. Default 30000 ms. */
  clientBodyTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
  /** How long an idle keep-alive client connection is kept open. Default 65000 ms (longer than a load balancer's 60 s). */
  keepAliveTimeoutMs: z.number().int().min(100).max(3_600_000).default(65_000),
  /** Largest request head, in bytes; larger ones get 431. Default 16384. */
  maxHeaderBytes: z.number().int().min(1_024).max(1_048_576).default(16 * 1024),
  /**
   * A request body is read up to this many bytes before a backend connection is taken: a body that fits
   * is sent whole, so a slow client never holds an upstream connection for it. Default 65536.
   */
  requestBufferBytes: z.number().int().min(0).max(64 * 1024 * 1024).default(64 * 1024),
  /** Bytes all requests' buffered bodies may hold together; beyond it bodies stream instead. Default 64 MiB. */
  maxBufferedRequestBytes: z.number().int().min(0).default(64 * 1024 * 1024),
  /**
   * When the answer is complete before the request body was read (a backend that refused an upload), the
   * rest of the body is read and discarded for up to this long, so the client sees the answer, not a reset
   * (nginx's `lingering_close`). Default 5000 ms.
   */
  lingerTimeoutMs: z.number().int().min(0).max(600_000).default(5_000),
  /** ...and up to this many bytes. Default 16 MiB. */
  lingerMaxBytes: z.number().int().min(0).default(16 * 1024 * 1024),
  /**
   * Largest request body, in bytes (a route may set its own); 0 for none. A `Content-Length` past it is
   * answered 413 `body_too_large` before anything is forwarded; a chunked body that passes it has its
   * exchange aborted (413 when no answer has started, else the connection is cut); both counted in
   * `strangler_rejected_requests_total{reason="body_too_large"}`. Default 1 GiB: ten times the largest
   * upload the tests stream (100 MB), so that putting the proxy in front breaks no upload that worked
   * before; lower it per route where you know the sizes.
   */
  maxRequestBodyBytes: z.number().int().min(0).default(1024 * 1024 * 1024),
  /** On SIGTERM or SIGINT, how long requests in flight may take to finish before their connections are cut. Default 5000 ms. */
  shutdownGraceMs: z.number().int().min(0).max(600_000).default(5_000),
  /** TLS on the data plane's port (HTTPS, and HTTP/2 by ALPN); plain HTTP when absent. The certificate files are followed: a replaced pair serves within `reloadCheckMs`. */
  tls: tlsSchema.optional(),
  http2: http2Schema.prefault({}),
  /**
   * Read a PROXY protocol v1 or v2 header (HAProxy's `send-proxy-v2`, an AWS NLB) at the start of each
   * connection from a `trustedProxies` peer; its source address is then the peer. Connections from
   * others are never read for one; the header must arrive within `headersTimeoutMs` (as must h2c's first
   * bytes), else the connection is closed (`first_bytes_timeout`). Default false.
   * @limit
   */
  proxyProtocol: z.boolean().default(false),
  /**
   * Peers allowed to speak for the client (a load balancer, an ingress): addresses and CIDR blocks such
   * as `["10.0.0.0/8", "fd00::/8"]`. From them, `X-Forwarded-For`'s rightmost untrusted address is the
   * client and `X-Forwarded-Proto`/`-Host` are kept (and a PROXY protocol header is accepted); from
   * anyone else those headers are replaced. At most 1000 entries. Default none.
   * @limit
   */
  trustedProxies: z
    .array(
      z.string().superRefine((entry, ctx) => {
        const problem = trustedEntryProblem(entry);
        if (problem) ctx.addIssue({ code: CUSTOM, message: problem });
      }),
    )
    .max(1_000)
    .default([]),
}).refine((s) => s.requestTimeoutMs === 0 || s.headersTimeoutMs <= s.requestTimeoutMs, {
  error: "headersTimeoutMs must not exceed requestTimeoutMs (a whole request includes its head)",
  path: ["headersTimeoutMs"],
});

const adminRoleSchema = z.enum(ADMIN_ROLES);

/** The admin listener: its bounds, its protection against cross-site pages and DNS rebinding, and who may do what. */
export const adminSchema = z.strictObject({
  /** Largest request body the admin API reads; beyond it 413 `body_too_large`. Default 16384. */
  maxBodyBytes: z.number().int().min(1_024).max(1_048_576).default(16 * 1024),
  /** Under `--workers`, how long a scrape of `/metrics` waits for the primary to collect every worker's; then 503 `metrics_unavailable`. Default 6000 ms. */
  metricsTimeoutMs: z.number().int().min(100).max(60_000).default(6_000),
  /** How long a replayed divergence example waits for each backend (at most the backend's own responseTimeoutMs); then that side is an error. Default 10000 ms. */
  replayTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /**
   * Host names (with or without a port) the admin listener answers to, besides loopback names and its bind
   * address: the names an operator reaches it by (`["proxy-1.internal"]`). Others get 403 `host_not_allowed`.
   */
  allowedHosts: z.array(z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/, "must be a host name or address, optionally with :port")).default([]),
  /** TLS on the admin listener (it carries a bearer token); HTTP/1.1 only, the same keys as `server.tls`. The certificate files are followed. */
  tls: tlsSchema.optional(),
  /**
   * The role of a token that neither `STRANGLER_ADMIN_TOKENS` (`label:role:token`) nor `grants` gives one:
   * `viewer` (every read), `operator` (percentages, promotion, resume, recordings, replays) or `admin`
   * (everything). Default `admin`, so a setup from before roles keeps working; set `viewer` to make every
   * new token read-only until it is granted more.
   */
  defaultRole: adminRoleSchema.default("admin"),
  /**
   * Roles by token label: `{ grafana: { role: "viewer" }, "payments-ci": { role: "operator", routes: ["payments-*"] } }`.
   * `routes` (ids, `*` for any run of characters) limits what the token may change; it reads every route.
   * When the environment gives the label a role too, the lesser of the two applies. Read per request: a reload applies.
   */
  grants: z
    .record(
      z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, "a token label: 1-64 letters, digits, '.', '_', '@' or '-'"),
      z.strictObject({
        /** `viewer`, `operator` or `admin`. */
        role: adminRoleSchema,
        /** Route ids or globs (`payments-*`) the token may change; absent: every route. */
        routes: z.array(z.string().regex(/^[a-z0-9._*-]{1,128}$/, "a route id, or a glob of one with '*'")).min(1).optional(),
      }),
    )
    .default({}),
  /** `/metrics` asks for a token too (any role). Default false: Prometheus scrapes it without one. */
  protectMetrics: z.boolean().default(false),
});

/** A receiver of migration events (POSTed as JSON, signed with its secret). */
export const webhookSchema = z
  .strictObject({
    /** Names it in metrics, the admin API and the log: lower-case letters, digits, '-' or '_'. */
    name: backendName,
    /** Where events are POSTed: an http:// or https:// URL (a Slack incoming webhook's, with `format: "slack"`). Redirects are not followed. */
    url: backendUrl,
    /** The events it wants (see docs/webhooks.md), or `["*"]` for all. Default all. */
    events: z.array(z.enum([...WEBHOOK_EVENTS, "*"])).min(1).default(["*"]),
    /** Only events of these routes (ids, `*` for any run of characters); absent: every route's. */
    routes: z.array(z.string().regex(/^[a-z0-9._*-]{1,128}$/, "a route id, or a glob of one with '*'")).min(1).optional(),
    /**
     * The HMAC-SHA256 key of `X-Strangler-Signature` (at least 16 characters; keep it out of the repository:
     * `secret: process.env.HOOK_SECRET`). Required for `format: "json"`.
     */
    secret: z.string().min(16, "must be at least 16 characters").optional(),
    /** `json`: the event as JSON (docs/webhooks.md); `slack`: `{ "text": … }`, what Slack's and Teams' incoming webhooks take. Default json. */
    format: z.enum(["json", "slack"]).default("json"),
    /** How long one delivery may take (connect, send, answer); then it failed and is tried again. Default 5000 ms. @limit */
    timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
    /** Attempts at one event, the first included; after the last it is given up (counted, logged) and the next is sent. Default 8. @limit */
    maxAttempts: z.number().int().min(1).max(100).default(8),
    /** The wait before the second attempt; it doubles for each further one (with jitter), up to `maxRetryBackoffMs`. Default 1000 ms. */
    retryBackoffMs: z.number().int().min(10).max(3_600_000).default(1_000),
    /** The longest wait between attempts. Default 300000 ms (5 min). @limit */
    maxRetryBackoffMs: z.number().int().min(10).max(86_400_000).default(300_000),
    /**
     * Audit entries it may fall behind (a receiver down for long): past this, the oldest are passed over
     * (counted as skipped, logged) so that it catches up with what is happening now. Default 10000. @limit
     */
    maxBacklog: z.number().int().min(1).max(10_000_000).default(10_000),
  })
  .superRefine((hook, ctx) => {
    if (hook.format === "json" && hook.secret === undefined) {
      ctx.addIssue({ code: CUSTOM, path: ["secret"], message: 'is required with format "json": receivers check X-Strangler-Signature with it' });
    }
    if (hook.maxRetryBackoffMs < hook.retryBackoffMs) {
      ctx.addIssue({ code: CUSTOM, path: ["maxRetryBackoffMs"], message: `must not be shorter than retryBackoffMs (${hook.retryBackoffMs})` });
    }
  });

/** Limits that bound shadowing across all routes. */
export const shadowingSchema = z.strictObject({
  /** Shadow exchanges in flight at once; beyond it requests are not shadowed (`overload`). Default 64. */
  maxInFlight: z.number().int().min(1).default(64),
  /** Comparisons waiting or running; beyond it a pair is dropped (`overload`). Default 256. */
  maxQueuedComparisons: z.number().int().min(1).default(256),
  /** Bytes all captures together may hold; when full, requests are not shadowed (`overload`). The comparison worker's heap is bounded to half of it. Default 256 MiB. */
  maxBufferedBytes: z.number().int().min(1024).default(256 * 1024 * 1024),
  /** Pairs larger than this are compared in a worker thread. Default 256 KiB. */
  workerThresholdBytes: z.number().int().min(0).default(256 * 1024),
  /** Largest body after decoding gzip, br or deflate; a larger one compares as undecodable (a bound on decompression bombs). Default 64 MiB. */
  maxDecodedBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
  /**
   * Comparison results with a signature, an example or a noise sample waiting for the store; beyond it
   * they are dropped, counted and logged (plain matches and skips are counted per route and minute and
   * take no place here). Default 5000.
   */
  maxQueuedEvidence: z.number().int().min(1).default(5_000),
  /** How often queued comparison results are written to the store, at most: one transaction a tick (a longer tick writes more in each). Default 200 ms. */
  evidenceFlushMs: z.number().int().min(10).max(60_000).default(200),
  /** Example pairs kept per divergence signature; past it, examples are not stored (counts stay exact). Default 5. @limit */
  examplesPerSignature: z.number().int().min(1).max(100).default(5),
  /**
   * Example pairs stored per signature and minute: a route diverging on every request stores a few, not
   * one per request (its counts stay exact). Default 2.
   * @limit
   */
  examplesPerSignaturePerMinute: z.number().int().min(1).max(1_000).default(2),
  /** Signatures kept per route (least recently seen go first). Default 200. @limit */
  signaturesPerRoute: z.number().int().min(1).default(200),
  /**
   * A divergence signature is told in the audit trail (the route's timeline, and webhooks' `divergence.new`)
   * when its count reaches this, once: a one-off difference is not news, a recurring one is. Default 10.
   */
  announceDivergenceAt: z.number().int().min(1).default(10),
  /** Evidence (and the traffic history the dashboard charts beside it) older than this is deleted. Default 7 days. @limit */
  retentionDays: z.number().positive().default(7),
  /**
   * Each stored example body (request, monolith, service) is cut to this many bytes after redaction; a cut
   * body ends with "… (truncated)", and the API (`truncated`) and the cockpit say so. The comparison itself
   * always reads the whole body. Default 8 KiB. @limit
   */
  exampleBodyBytes: z.number().int().min(256).default(8 * 1024),
});

/** How a route's recordings are replayed against a candidate service (src/replay/), and whether it must pass one first. */
export const routeReplaySchema = z.strictObject({
  /**
   * How replayed requests authenticate: the recording holds no credential. `{ header, env }` sends the
   * proxy's environment variable `env` as that header (a test credential); `{ header, value }` sends a
   * fixed value (a header the service trusts in staging). Default none: requests go as recorded, redacted.
   */
  auth: z
    .union([
      z.strictObject({ header: z.string().regex(/^[a-z0-9-]+$/, "must be a lower-case header name"), env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name") }),
      z.strictObject({ header: z.string().regex(/^[a-z0-9-]+$/, "must be a lower-case header name"), value: z.string().min(1).max(8_192) }),
    ], { error: "must be { header, env } or { header, value }" })
    .optional(),
  /** The route may leave `legacy` (be given a percentage above 0) only after a passing replay run. Default false. */
  requiredToLeaveLegacy: z.boolean().default(false),
  /** A run passes only with at least this many exchanges compared. Default 50. */
  minExchanges: z.number().int().min(1).default(50),
  /** A run passes only when the Wilson lower bound (95%) of its pass rate is at least this, 0–1. Default 0.95. */
  minPassLowerBound: z.number().min(0).max(1).default(0.95),
});

/**
 * The path (and Host) a route's target is sent, when the service does not serve the monolith's paths:
 * one of `stripPrefix`, `replacePrefix` or `path`. The monolith always gets the request as the client
 * sent it; a shadow copy to the target is rewritten the same way. Checked at load against the route's path.
 */
export const rewriteSchema = z.strictObject({
  /** Leading segments removed: `"/api"` sends `/api/products/42` as `/products/42`. */
  stripPrefix: z.string().max(2_048).optional(),
  /** Leading segments replaced: `{ from: "/api", to: "/v2/catalog" }` sends `/api/products/42` as `/v2/catalog/products/42`. */
  replacePrefix: z
    .strictObject({
      /** The leading segments of the route's path that are replaced: `"/api"`. */
      from: z.string().max(2_048),
      /** What takes their place: literal segments, or `"/"` for none. */
      to: z.string().max(2_048),
    })
    .optional(),
  /** The service's path as a template of the route's parameters: `"/v2/catalog/products/:id"`; a trailing `/*` carries the route's rest. */
  path: z.string().max(2_048).optional(),
  /** The Host header the target gets: its own URL's (`"backend"`), or the one the client sent (`"client"`). Default `"backend"`. */
  host: z.enum(["backend", "client"], { error: 'must be "backend" or "client"' }).default("backend"),
});

export const routeSchema = z.strictObject({
  /** Stable id, used in metrics, flags and the admin API: lower-case letters, digits, '.', '-', '_'. */
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,79}$/, "must be 1-80 lower-case letters, digits, '.', '-' or '_'"),
  match: matchSchema,
  /** Backend that served this endpoint before the migration. Default `legacy`. */
  legacy: backendName.default("legacy"),
  /** Backend (an extracted service) that now owns this endpoint. */
  target: backendName,
  /** The target's own path (and Host) for this route's requests; off when absent (the client's path, under the backend's base path). */
  rewrite: rewriteSchema.optional(),
  /** How much of the route's traffic the target gets, and by which sticky key. */
  rollout: rolloutSchema,
  /** Shadow comparison; off when absent. */
  shadow: shadowSchema.optional(),
  /** Automatic rollback on evidence; off when absent. */
  guard: guardSchema.optional(),
  /** Progressive promotion through steps; off when absent. */
  promote: promoteSchema.optional(),
  /** Replay to the monolith when the target fails an idempotent request; off when absent. */
  fallback: fallbackSchema.optional(),
  /** This route's request body bound, in place of `server.maxRequestBodyBytes` (0: none). */
  maxRequestBodyBytes: z.number().int().min(0).optional(),
  /** Replaying its recordings (authentication, and the passing run it may need to leave `legacy`). Default: no auth, no requirement. */
  replay: routeReplaySchema.prefault({}),
});

/**
 * How the nodes of a fleet (or the worker processes of one host) find each other and pool their
 * evidence. The judge's lease lasts `guards.intervalMs`.
 */
export const fleetSchema = z.strictObject({
  /** How often a node says it is alive; after three silent beats it leaves `GET /api/fleet`. Default 5000 ms. */
  heartbeatMs: z.number().int().min(500).default(5_000),
  /**
   * How often a node writes its evidence deltas to the store (one transaction; on PostgreSQL one inbox
   * row, with its shadow results): a guard sees another node's traffic this late at most (plus
   * `foldMs` on PostgreSQL). Default 1000 ms.
   */
  evidenceFlushMs: z.number().int().min(100).max(60_000).default(1_000),
  /**
   * PostgreSQL: how often the judge folds the nodes' inbox rows (their evidence deltas and shadow
   * results) into the tables the guards, the cockpit and the API read; it also folds before each
   * evaluation. What another node counted shows this late at most (plus its `evidenceFlushMs`). Default 2000 ms.
   */
  foldMs: z.number().int().min(100).max(60_000).default(2_000),
  /** The stored evidence's time resolution: one row per route and bucket (SQLite: per metric and node too); a guard window starts at a bucket's start. Default 5000 ms. */
  evidenceBucketMs: z.number().int().min(1_000).max(60_000).default(5_000),
  /**
   * Stored evidence older than this is deleted (by the judge), and a node's unwritten deltas (the store
   * down) older than this are dropped and logged; no guard window or promotion interval may be longer.
   * Default 3600000 ms (1 hour).
   */
  evidenceRetentionMs: z.number().int().min(60_000).default(3_600_000),
  /**
   * PostgreSQL: how often a node checks the rollout state's version (the audit trail's head, one small
   * read) whatever `NOTIFY` said, and reads the state again when it moved: the safety net for a
   * notification lost with a listening connection that broke silently (one that breaks noisily is
   * reconnected and the state read at once). Default 5000 ms.
   */
  reconcileMs: z.number().int().min(100).default(5_000),
});

const fieldName = z.string().min(1).max(200);

/**
 * What is never stored of a request or an answer (divergence examples), besides the defaults: headers
 * such as Authorization, Cookie, Set-Cookie and any name holding `token`, `secret`, `password`,
 * `api-key` or `session-id`; the same names in query parameters, JSON and form fields (plus `key`,
 * `code` and `sig` in a URL); and, in any text, JWTs, `Bearer` credentials, card numbers and e-mail
 * addresses. A route's `shadow.redact.bodyFields` adds JSON paths of its own.
 */
export const redactionSchema = z.strictObject({
  /** More request header names (case-insensitive) whose values are never stored. Default none. */
  headers: z.array(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "must be a valid header name")).max(1_000).default([]),
  /** More query parameter names whose values are never stored. Default none. */
  queryParams: z.array(fieldName).max(1_000).default([]),
  /** More JSON member and form field names, at any depth, whose values are never stored. Default none. */
  fields: z.array(fieldName).max(1_000).default([]),
  /**
   * Values that must still correlate across stored exchanges (a user id, an order id) without being
   * stored: replaced by a keyed pseudonym (`psn_…`, HMAC-SHA256 with a secret the store makes and keeps,
   * the same on every node), never the value or a plain hash of it. By name, per channel. Default none.
   */
  pseudonymize: z
    .strictObject({
      /** Request header names (the sticky key's `x-user-id`, for one). */
      headers: z.array(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "must be a valid header name")).max(1_000).default([]),
      /** Query parameter names. */
      queryParams: z.array(fieldName).max(1_000).default([]),
      /** JSON member and form field names, at any depth (their string or number values). */
      fields: z.array(fieldName).max(1_000).default([]),
    })
    .prefault({}),
});

/** Recording a route's exchanges with the monolith, to replay them against a candidate service (src/recording/). */
export const recordingSchema = z.strictObject({
  /** Each recorded body (request and answer) is kept up to this many bytes; past it the exchange is kept as truncated and replay skips it. Default 256 KiB. */
  maxBodyBytes: z.number().int().min(1_024).max(16 * 1024 * 1024).default(256 * 1024),
  /** Recorded exchanges waiting for the store; beyond it new ones are dropped and counted, never waited for. Default 1000. */
  maxQueued: z.number().int().min(1).max(1_000_000).default(1_000),
  /** Bytes all captures in flight may hold; past it an exchange is not captured (counted as dropped). Default 64 MiB. */
  maxBufferedBytes: z.number().int().min(1_024 * 1_024).default(64 * 1024 * 1024),
  /** How often queued exchanges are written to the store (one transaction per recording a tick). Default 200 ms. */
  flushMs: z.number().int().min(10).max(60_000).default(200),
  /** A recording that keeps dropping (the store behind) this long stops itself, as `overload`. Default 10000 ms. */
  overloadStopMs: z.number().int().min(100).max(600_000).default(10_000),
  /** How often a node reads which recordings are active (a recording started through another node). Default 2000 ms. */
  refreshMs: z.number().int().min(100).max(60_000).default(2_000),
  /** Largest size a recording may be started with. Default 100000 exchanges. @limit */
  maxExchanges: z.number().int().min(1).max(10_000_000).default(100_000),
  /** Stopped recordings older than this are deleted. Default 7 days. @limit */
  retentionDays: z.number().positive().default(7),
});

/** Replaying a recording against a candidate service (src/replay/): the bounds of one run. */
export const replaySchema = z.strictObject({
  /** Longest wait for a candidate's (or the fresh monolith's) whole answer; past it the exchange counts as a timeout. Default 10000 ms. */
  timeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /** Requests of one run in flight at once, whatever the pacing asks; a paced send waits for room. Default 32. */
  maxInFlight: z.number().int().min(1).max(1_000).default(32),
  /** Paced as recorded, a pause between exchanges longer than this is cut to it (idle gaps clamped). Default 1000 ms. */
  maxGapMs: z.number().int().min(0).max(3_600_000).default(1_000),
  /** Requests per second a run may send to the monolith for fresh answers (GET and HEAD only); past it a read is compared without one. Default 10. @limit */
  freshMonolithPerSecond: z.number().min(0.1).max(1_000).default(10),
  /** The first this many exchanges recorded 2xx decide whether authentication works: most of them 401/403 stops the run. Default 20. */
  authProbeExchanges: z.number().int().min(1).max(10_000).default(20),
  /** Divergence signatures a run's report keeps (each with one example); more are counted, not listed. Default 100. @limit */
  maxSignatures: z.number().int().min(1).max(10_000).default(100),
  /** Answers larger than this are not compared (counted as truncated). Default 4 MiB. */
  maxResponseBytes: z.number().int().min(1_024).max(256 * 1024 * 1024).default(4 * 1024 * 1024),
  /** Runs one node carries out at once; another is refused (409) until one ends. Default 1. */
  maxConcurrentRuns: z.number().int().min(1).max(16).default(1),
});

/** The migration map: the monolith's endpoints learned from its traffic (src/map/). */
export const mapSchema = z.strictObject({
  /** Nodes of the template trie, per process; a path needing more is counted as `(overflow)`. Default 5000. */
  maxTrieNodes: z.number().int().min(100).max(1_000_000).default(5_000),
  /** Distinct literal segments at one position before it becomes a parameter. Default 50. */
  maxLiterals: z.number().int().min(2).max(10_000).default(50),
  /** Path segments kept; deeper paths end in `/*`. Default 12. */
  maxDepth: z.number().int().min(1).max(64).default(12),
  /** How often a process writes what the map learned (one transaction). Default 5000 ms. */
  flushMs: z.number().int().min(100).max(300_000).default(5_000),
  /** Map counts and templates not seen for this long are deleted (by the judge). Default 14 days. */
  retentionMs: z.number().int().min(3_600_000).default(14 * 86_400_000),
  /** A route may be retired only when the monolith has not answered it for this long (else 409 `still_served`, with the evidence); 0 turns the check off. Default 1 day. */
  retireQuietPeriodMs: z.number().int().min(0).default(86_400_000),
});

export const configSchema = z
  .strictObject({
    /** Named backends; `legacy` (the monolith) is required and receives everything no route claims. */
    backends: z.record(backendName, backendSchema),
    /** The endpoints moved (or being moved) to a service, first match wins; what none claims goes to `legacy`. Default none. */
    routes: z.array(routeSchema).default([]),
    /** Cookie the proxy issues to clients with no sticky key, so anonymous users stay on one side. Default `strangler_id`. */
    stickyCookie: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, '_' or '-'").default("strangler_id"),
    /**
     * Forced routing for QA: a request with `x-strangler-force: legacy|target` and
     * `x-strangler-force-secret: <secret>` is routed as told. Without it (or with a wrong secret) both
     * headers are ignored; they are never forwarded.
     */
    forceRouting: z
      .strictObject({
        /** The value `x-strangler-force-secret` must carry: at least 16 characters (keep it out of the repository, e.g. from an environment variable). */
        secret: z.string().min(16, "must be at least 16 characters"),
      })
      .optional(),
    /**
     * Another OpenFeature provider to decide routes with (e.g. flagd for a fleet), instead of the built-in
     * one. It must serve the string flags `strangler.route.<id>` with variants `legacy` and `target`.
     */
    openFeature: z
      .strictObject({
        /** The provider object (`new FlagdProvider(…)`, for one), made in `routes.config.ts`. */
        provider: z.custom<Provider>(
          (value) => typeof value === "object" && value !== null && typeof (value as Provider).resolveStringEvaluation === "function",
          "must be an OpenFeature server Provider (an object with resolveStringEvaluation)",
        ),
      })
      .optional(),
    shadowing: shadowingSchema.prefault({}),
    server: serverSchema.prefault({}),
    admin: adminSchema.prefault({}),
    /** How often guards and promotions are evaluated. Default 10000 ms. */
    guards: z
      .strictObject({
        /**
         * The evaluation interval: each route's guard and promotion are judged this often. It is also the
         * fleet's judge lease, renewed every third of it, so a dead judge is replaced within about 1⅓ of it.
         * Default 10000 ms.
         */
        intervalMs: z.number().int().min(100).default(10_000),
      })
      .default({ intervalMs: 10_000 }),
    fleet: fleetSchema.prefault({}),
    map: mapSchema.prefault({}),
    redaction: redactionSchema.prefault({}),
    recording: recordingSchema.prefault({}),
    replay: replaySchema.prefault({}),
    /**
     * Where migration events are sent (percentages, promotion steps, guard trips, resumes, retirements,
     * recordings and replays finished, new divergences): each an HTTP endpoint, signed, at least once and
     * in order. See docs/webhooks.md.
     */
    webhooks: z.array(webhookSchema).max(50).default([]),
    /** The access log: one JSON line (pino's format, on stdout) per request in this share of them, 0–1. Default 0: off. */
    accessLog: z
      .strictObject({
        /** The share of requests logged, 0–1 (0.01: one in a hundred; 1: every one). Default 0: off. @limit */
        sampleRatio: z.number().min(0).max(1).default(0),
        /** Lines of one event-loop turn wait to be written in one write; past this many bytes they are written at once. Default 64 KiB. */
        maxBatchBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
      })
      .prefault({}),
    /** Response header naming the backend that answered; `false` turns it off. Default `x-served-by`. */
    servedByHeader: z
      .union([z.literal(false), z.string().regex(/^[a-z0-9-]+$/, "must be a lower-case header name")], { error: "must be a lower-case header name, or false for none" })
      .default("x-served-by"),
  })
  .superRefine((config, ctx) => {
    config.routes.forEach((route, index) => {
      const confirm = route.promote?.approval?.confirmWebhook;
      if (confirm === undefined) return;
      const hook = config.webhooks.find((h) => h.name === confirm);
      const path = ["routes", index, "promote", "approval", "confirmWebhook"];
      if (!hook) ctx.addIssue({ code: CUSTOM, path, message: `names no webhook: "${confirm}" is not in webhooks (${config.webhooks.map((h) => h.name).join(", ") || "none"})` });
      // A chat's incoming webhook answers 200 to every post: it would say yes to every step.
      else if (hook.format !== "json") ctx.addIssue({ code: CUSTOM, path, message: `webhook "${confirm}" has format "${hook.format}": a confirming webhook must be format "json" (a chat's webhook answers 200 to anything)` });
    });
    config.webhooks.forEach((hook, index) => {
      const first = config.webhooks.findIndex((h) => h.name === hook.name);
      if (first !== index) ctx.addIssue({ code: CUSTOM, path: ["webhooks", index, "name"], message: `duplicate webhook name "${hook.name}" (also webhooks[${first}])` });
    });
    if (!config.backends.legacy) {
      ctx.addIssue({ code: CUSTOM, path: ["backends", "legacy"], message: "is required: it serves every request no route claims" });
    }
    const seen = new Map<string, number>();
    const retention = config.fleet.evidenceRetentionMs;
    if (config.server.tls && config.server.http2.h2c) {
      ctx.addIssue({ code: CUSTOM, path: ["server", "http2", "h2c"], message: "h2c is HTTP/2 without TLS, for a plain listener: with server.tls set, HTTP/2 is offered by ALPN (http2.enabled)" });
    }
    if (config.server.proxyProtocol && config.server.trustedProxies.length === 0) {
      ctx.addIssue({ code: CUSTOM, path: ["server", "proxyProtocol"], message: "a PROXY protocol header is read only from server.trustedProxies, which is empty: name the balancers that send it" });
    }
    if (config.map.retireQuietPeriodMs > config.map.retentionMs) {
      ctx.addIssue({ code: CUSTOM, path: ["map", "retireQuietPeriodMs"], message: `${config.map.retireQuietPeriodMs} is longer than the map keeps (map.retentionMs ${config.map.retentionMs})` });
    }
    config.routes.forEach((route, index) => {
      if (route.guard && route.guard.windowMs > retention) {
        ctx.addIssue({ code: CUSTOM, path: ["routes", index, "guard", "windowMs"], message: `${route.guard.windowMs} is longer than the evidence kept (fleet.evidenceRetentionMs ${retention})` });
      }
      if (route.promote && route.promote.intervalMs > retention) {
        ctx.addIssue({ code: CUSTOM, path: ["routes", index, "promote", "intervalMs"], message: `${route.promote.intervalMs} is longer than the evidence kept (fleet.evidenceRetentionMs ${retention})` });
      }
      const first = seen.get(route.id);
      if (first !== undefined) {
        ctx.addIssue({ code: CUSTOM, path: ["routes", index, "id"], message: `duplicate route id "${route.id}" (also routes[${first}])` });
      } else {
        seen.set(route.id, index);
      }
      if (route.rewrite && !isValidPathTemplate(route.match.path)) {
        const problem = pathRewriteProblem(route.match.path, route.rewrite);
        if (problem) ctx.addIssue({ code: CUSTOM, path: ["routes", index, "rewrite", ...problem.key.split(".")], message: problem.message });
      }
      for (const field of ["legacy", "target"] as const) {
        if (!config.backends[route[field]]) {
          ctx.addIssue({
            code: CUSTOM,
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
export type HealthCheckConfig = z.output<typeof healthCheckSchema>;
export type RetriesConfig = z.output<typeof retriesSchema>;
export type RewriteConfig = z.output<typeof rewriteSchema>;
export type ShadowConfig = z.output<typeof shadowSchema>;
export type ShadowingLimits = z.output<typeof shadowingSchema>;
export type ServerLimits = z.output<typeof serverSchema>;
export type GuardConfig = z.output<typeof guardSchema>;
export type PromoteConfig = z.output<typeof promoteSchema>;
export type FallbackConfig = z.output<typeof fallbackSchema>;
export type FleetSettings = z.output<typeof fleetSchema>;
export type MapSettings = z.output<typeof mapSchema>;
export type RecordingSettings = z.output<typeof recordingSchema>;
export type ReplaySettings = z.output<typeof replaySchema>;
export type RouteReplayConfig = z.output<typeof routeReplaySchema>;
