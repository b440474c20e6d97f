import { z } from "zod";
import { mapQuerySchema, reasonOnlySchema, rolloutUpdateSchema, suggestQuerySchema } from "./admin-schemas.ts";
import { acknowledgeSchema, divergenceQuery, noiseSchema, replaySchema, windowSchema } from "./shadow-api.ts";
import { exchangesQuery, exportQuery, recordingsQuery, startRecordingSchema, stopRecordingSchema } from "./recording-api.ts";
import { runsQuery, startReplaySchema } from "./replay-api.ts";
import { endpointAccess } from "./endpoint-roles.ts";
import { webhookTestSchema } from "./webhook-api.ts";

const error = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "string" }, message: { type: "string" }, field: { type: "string" }, issues: { type: "array", items: { type: "string" } } },
    },
  },
} as const;

const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });
const json = (description: string, ref = "#/components/schemas/RouteChange") => ({ description, content: { "application/json": { schema: { $ref: ref } } } });
const routeId = { name: "id", in: "path", required: true, schema: { type: "string" } } as const;
const recordingId = { name: "recordingId", in: "path", required: true, schema: { type: "integer" } } as const;
const secured = [{ bearer: [] }];
const writeErrors = {
  400: errorResponse("Invalid JSON or input; `field` names the field"),
  401: errorResponse("No or wrong bearer token"),
  404: errorResponse("Unknown route"),
  409: errorResponse("Routes are decided by an external OpenFeature provider"),
  413: errorResponse("Body over 16 KiB"),
};

/** A route action whose body is just a reason. */
function reasonAction(summary: string, done: string) {
  return {
    summary,
    security: secured,
    parameters: [routeId],
    requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/Reason" } } } },
    responses: { 200: json(done), ...writeErrors },
  };
}

/** Query parameters described from the zod schema that reads them. */
function queryParameters(schema: z.ZodObject) {
  const json = z.toJSONSchema(schema, { io: "input" }) as { properties?: Record<string, object> };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({ name, in: "query", schema: s }));
}

/** A request body described from the zod schema that checks it. */
const bodyOf = (schema: z.ZodType) => ({ required: true, content: { "application/json": { schema: z.toJSONSchema(schema, { io: "input" }) } } });

/** A migration action: a reason in, the route's migration record out; 409 when the state refuses it. */
function migrationAction(summary: string) {
  return { ...reasonAction(summary, "The migration record"), responses: { 200: { description: "The migration record" }, ...writeErrors, 409: errorResponse("Refused in the route's state (code: no_promotion, conflict, route_halted, still_served with its evidence, no_approval_pending, approval_required)") } };
}

/**
 * The OpenAPI 3.1 description of the admin API; request bodies and query parameters come from the same
 * zod schemas that check them. test/e2e/openapi.test.ts compares it with the routes the admin app
 * registers, so an endpoint cannot be added without being described here.
 */
export function openApiDocument() {
  return withRoles({
    openapi: "3.1.0",
    info: { title: "strangler-fig admin API", version: "1" },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: error,
        RolloutUpdate: z.toJSONSchema(rolloutUpdateSchema, { io: "input" }),
        Reason: z.toJSONSchema(reasonOnlySchema, { io: "input" }),
        Route: {
          type: "object",
          properties: {
            id: { type: "string" },
            match: { type: "object" },
            legacy: { type: "string" },
            target: { type: "string" },
            rewrite: { type: ["object", "null"], description: "the path (stripPrefix, replacePrefix or path template) and Host (backend or client) the target gets; null: the client's path, the backend's Host" },
            rollout: {
              type: "object",
              properties: {
                configuredPercent: { type: "number" },
                livePercent: { type: ["number", "null"], description: "with source provider: the share of decisions the external provider sent to the target lately (null before any)" },
                source: { enum: ["config", "admin", "provider"] },
                observed: { type: "object", properties: { decisions: { type: "integer" }, windowSeconds: { type: "integer" } }, description: "with source provider only" },
                key: {},
                salt: { type: "string" },
              },
            },
            lastChange: { type: ["object", "null"] },
          },
        },
        RouteChange: { type: "object", properties: { route: { $ref: "#/components/schemas/Route" }, previousPercent: { type: "number" } } },
      },
    },
    paths: {
      "/healthz": { get: { summary: "Liveness: 200 once the data plane serves", responses: { 200: { description: "serving" }, 503: { description: "starting" } } } },
      "/readyz": { get: { summary: "Readiness: serving, database and flag provider ready", responses: { 200: { description: "ready" }, 503: { description: "not ready" } } } },
      "/metrics": { get: { summary: "Prometheus metrics; with admin.protectMetrics, a token of any role is needed", responses: { 200: { description: "text exposition format" }, 401: errorResponse("admin.protectMetrics is on, and no or a wrong token was sent") } } },
      "/api/webhooks": {
        get: {
          summary: "Every webhook: its URL's origin (never its path or secret), format, events and routes, whether it signs, and its deliveries: status (new, ok, retrying), backlog (audit entries behind), delivered, failed (given up), skipped, attempts at the next event, the last status and error",
          security: secured,
          responses: { 200: { description: "The webhooks", content: { "application/json": { schema: { type: "object", properties: { webhooks: { type: "array", items: { type: "object" } } } } } } }, 401: writeErrors[401] },
        },
      },
      "/api/webhooks/{name}": {
        get: {
          summary: "One webhook and its deliveries",
          security: secured,
          parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
          responses: { 200: { description: "The webhook", content: { "application/json": { schema: { type: "object" } } } }, 401: writeErrors[401], 404: errorResponse("No such webhook") },
        },
      },
      "/api/webhooks/{name}/test": {
        post: {
          summary: "Send the webhook a `ping` event now, once (signed like any event; not retried): answers the receiver's status, or why there was none (audited)",
          security: secured,
          parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
          requestBody: bodyOf(webhookTestSchema),
          responses: {
            200: { description: "{ webhook, id, ok, status, error, ms }: ok is false when the receiver did not answer 2xx", content: { "application/json": { schema: { type: "object" } } } },
            401: writeErrors[401],
            404: errorResponse("No such webhook"),
          },
        },
      },
      "/api/session": {
        get: {
          summary: "Who the token is: its label (the actor in the audit trail), its role, the routes it may change, and the role every change needs",
          security: secured,
          responses: {
            200: {
              description: "The session",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: {
                      actor: { type: "string" },
                      role: { enum: ["viewer", "operator", "admin"] },
                      routes: { type: ["array", "null"], items: { type: "string" }, description: "globs of the routes it may change; null: every route" },
                      changeableRoutes: { type: "array", items: { type: "string" }, description: "the routes in force it may change" },
                      endpoints: { type: "array", items: { type: "object", properties: { method: { type: "string" }, path: { type: "string" }, role: { type: "string" } } } },
                    },
                  },
                },
              },
            },
            401: writeErrors[401],
          },
        },
      },
      "/api/routes": {
        get: { summary: "List routes with configured and live percentages", security: secured, responses: { 200: json("Routes", "#/components/schemas/Route"), 401: writeErrors[401] } },
      },
      "/api/backends": {
        get: {
          summary: "Every backend with its destinations (instances): state (in_service, unhealthy, ejected, probing, leaving), health, requests in flight, breaker and when an ejected one is probed, last health check; whether it fails open; retries in flight. This process's view (each worker of --workers has its own)",
          security: secured,
          responses: { 200: { description: "The backends", content: { "application/json": { schema: { type: "object", properties: { backends: { type: "array", items: { type: "object" } } } } } } }, 401: writeErrors[401] },
        },
      },
      "/api/backends/{name}": {
        get: {
          summary: "One backend with its destinations",
          security: secured,
          parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
          responses: { 200: { description: "The backend", content: { "application/json": { schema: { type: "object" } } } }, 401: writeErrors[401], 404: errorResponse("No such backend") },
        },
      },
      "/api/routes/{id}": {
        get: { summary: "One route", security: secured, parameters: [routeId], responses: { 200: json("The route", "#/components/schemas/Route"), 401: writeErrors[401], 404: writeErrors[404] } },
      },
      "/api/routes/{id}/rollout": {
        put: {
          summary: "Set a route's live percentage (audited)",
          security: secured,
          parameters: [routeId],
          requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/RolloutUpdate" } } } },
          responses: { 200: json("Changed"), ...writeErrors },
        },
      },
      "/api/routes/{id}/rollback": { post: reasonAction("Send the whole route back to legacy: percentage 0 (audited)", "Rolled back") },
      "/api/routes/{id}/reroll": { post: reasonAction("Draw a new bucketing salt: every user of the route is bucketed anew (audited)", "Re-rolled") },
      "/api/fleet": {
        get: {
          summary: "The nodes sharing this node's store, heard from in the last three heartbeats (this one marked self), the one that judges guards and promotion, and the store's kind",
          security: secured,
          responses: { 200: { description: "{ store: sqlite | postgres, judge: nodeId | null, nodes: [{ nodeId, address, version, startedAt, lastSeen, self, judge }] }" } },
        },
      },
      "/api/map": {
        get: {
          summary: "The migration map: the endpoints (method + template) the proxy has seen, learned from traffic, with requests, share, share served by services, status mix, p50/p99, bytes, first/last seen, when the monolith last answered, and the route that claims each (null: the monolith's alone)",
          security: secured,
          parameters: queryParameters(mapQuerySchema),
          responses: { 200: { description: "{ windowMs, requests, servedByServices, templates: { total, claimed, unclaimed }, overflow, hours: [{ at, requests, servedByServices }], rows: [...], routes: [{ id, requests, servedByServices, lastMonolithAt }] }" }, 400: writeErrors[400], 401: writeErrors[401] },
        },
      },
      "/api/map/suggest": {
        get: {
          summary: "Where to cut next: the busiest unclaimed templates grouped by prefix, each group with the backend and routes that would claim it (JSON, and as TypeScript to paste into routes.config.ts)",
          security: secured,
          parameters: queryParameters(suggestQuerySchema),
          responses: { 200: { description: "{ windowMs, requests, suggestions: [{ prefix, requests, share, templates, backend, routes, snippet }] }" }, 400: writeErrors[400], 401: writeErrors[401] },
        },
      },
      "/api/overview": {
        get: { summary: "The dashboard's overview: every route's state, percentages, traffic per side, shadow match rate, top divergences, and the migration's progress", security: secured, responses: { 200: { description: "{ generatedAt, progress, routes }" }, 401: writeErrors[401] } },
      },
      "/api/routes/{id}/history": {
        get: {
          summary: "A route's live percentage over time (from the audit log) and match rate per minute",
          security: secured,
          parameters: [routeId, { name: "hours", in: "query", schema: { type: "integer", minimum: 1, maximum: 168, default: 6 } }],
          responses: { 200: { description: "{ routeId, hours, percent, currentPercent, matchRate, audit }" }, 401: writeErrors[401], 404: writeErrors[404] },
        },
      },
      "/api/routes/{id}/migration": {
        get: { summary: "A route's migration state, promotion, last verdicts, guard and promote config", security: secured, parameters: [routeId], responses: { 200: { description: "The migration record" }, 401: writeErrors[401], 404: writeErrors[404] } },
      },
      "/api/routes/{id}/promotion/start": { post: migrationAction("Start the route's promotion at its first step (audited)") },
      "/api/routes/{id}/promotion/pause": { post: migrationAction("Pause a running promotion (audited)") },
      "/api/routes/{id}/promotion/resume": { post: migrationAction("Resume a paused promotion at its current step (audited)") },
      "/api/routes/{id}/promotion/step": { post: migrationAction("Take the next promotion step now (audited); refused (approval_required) when that step waits for a yes") },
      "/api/routes/{id}/promotion/approve": {
        post: migrationAction("Say yes to the step the promotion waits for (an approval gate, promote.approval): the judge evaluates at once (or at its next tick, from another node) and takes the step if the evidence still passes; the role needed is the gate's approvers (operator, or admin) (audited)"),
      },
      "/api/routes/{id}/resume": { post: migrationAction("Lift a halt (after a guard) or a pause: the state follows the percentage again (audited)") },
      "/api/routes/{id}/retire": { post: migrationAction("Retire a route at 100%: stop consulting the monolith; refused while the monolith answered it within map.retireQuietPeriodMs (audited)") },
      "/api/routes/{id}/shadow": {
        get: { summary: "A shadowed route's comparison outcomes over a window", security: secured, parameters: [routeId, ...queryParameters(windowSchema)], responses: { 200: { description: "outcomes and match rate" }, 401: writeErrors[401], 404: writeErrors[404] } },
      },
      "/api/routes/{id}/divergences": {
        get: { summary: "A route's divergence signatures with examples (legacy and service bodies, the differences: the signature's own first)", security: secured, parameters: [routeId, ...queryParameters(divergenceQuery)], responses: { 200: { description: "{ signatures }, each example with `truncated: { request, legacy, target }`, true where a stored body was cut to exampleBodyBytes" }, 401: writeErrors[401], 404: writeErrors[404] } },
      },
      "/api/routes/{id}/shadow/reset": {
        post: { summary: "Forget a route's shadow evidence (signatures, examples, outcomes, noise), e.g. after a fix (audited)", security: secured, parameters: [routeId], requestBody: bodyOf(reasonOnlySchema), responses: { 200: { description: "reset" }, ...writeErrors } },
      },
      "/api/routes/{id}/recordings": {
        post: {
          summary: "Start recording the route's exchanges with the monolith, redacted, for replay: a share `rate` (rare kinds of answers kept first), up to `max` (audited)",
          security: secured,
          parameters: [routeId],
          requestBody: bodyOf(startRecordingSchema),
          responses: { 201: { description: "the recording" }, ...writeErrors, 409: errorResponse("The route is being recorded already (already_recording)") },
        },
      },
      "/api/recordings": {
        get: { summary: "Every recording, newest first (only a route's with `route`)", security: secured, parameters: queryParameters(recordingsQuery), responses: { 200: { description: "{ recordings }" }, 401: writeErrors[401] } },
      },
      "/api/recordings/{recordingId}": {
        get: { summary: "One recording: its state, size, and truncated and dropped counts", security: secured, parameters: [recordingId], responses: { 200: { description: "the recording" }, 401: writeErrors[401], 404: errorResponse("Unknown recording") } },
        delete: { summary: "Delete a recording and its exchanges, stopping it first if it records (audited)", security: secured, parameters: [recordingId], requestBody: bodyOf(stopRecordingSchema), responses: { 200: { description: "{ deleted }" }, 401: writeErrors[401], 404: errorResponse("Unknown recording") } },
      },
      "/api/recordings/{recordingId}/stop": {
        post: { summary: "Stop a recording (audited)", security: secured, parameters: [recordingId], requestBody: bodyOf(stopRecordingSchema), responses: { 200: { description: "the recording, stopped" }, ...writeErrors, 404: errorResponse("Unknown recording"), 409: errorResponse("It has stopped already (not_recording)") } },
      },
      "/api/recordings/{recordingId}/exchanges": {
        get: { summary: "A recording's exchanges in the order recorded, paged with `after` (the previous page's nextAfter)", security: secured, parameters: [recordingId, ...queryParameters(exchangesQuery)], responses: { 200: { description: "{ exchanges, nextAfter }" }, 401: writeErrors[401], 404: errorResponse("Unknown recording") } },
      },
      "/api/recordings/{recordingId}/export": {
        get: { summary: "A recording whole, as JSON Lines (the recording, then one exchange a line: a self-contained fixture) or HAR 1.2", security: secured, parameters: [recordingId, ...queryParameters(exportQuery)], responses: { 200: { description: "the file" }, 401: writeErrors[401], 404: errorResponse("Unknown recording") } },
      },
      "/api/recordings/{recordingId}/replays": {
        post: {
          summary:
            "Replay a stopped recording against a candidate (a backend's name or a URL), compared with the route's rules: paced as recorded × factor, at a rate, or by concurrency; writes only to a `sandbox`; `dryRun` plans and sends nothing (audited on the route's timeline when it ends)",
          security: secured,
          parameters: [recordingId],
          requestBody: bodyOf(startReplaySchema),
          responses: {
            200: { description: "the plan (dryRun)" },
            202: { description: "the run, running: follow it at /api/replays/{runId}" },
            ...writeErrors,
            404: errorResponse("Unknown recording"),
            409: errorResponse("Still recording (still_recording), the route is gone (unknown_route), writes asked of the monolith (not_a_sandbox), the auth variable unset (replay_auth_unset), or runs at their bound (replay_busy)"),
          },
        },
        get: { summary: "A recording's replay runs, newest first, with their reports (at most `limit`)", security: secured, parameters: [recordingId, ...queryParameters(runsQuery)], responses: { 200: { description: "{ runs }" }, 401: writeErrors[401], 404: errorResponse("Unknown recording") } },
      },
      "/api/replays/{runId}": {
        get: {
          summary: "One replay run: its progress while it runs, then its report (verdict, counts, pass rate and Wilson lower bound, latency, signatures with an example each, flaky exchanges)",
          security: secured,
          parameters: [{ name: "runId", in: "path", required: true, schema: { type: "integer" } }],
          responses: { 200: { description: "the run" }, 401: writeErrors[401], 404: errorResponse("Unknown replay run") },
        },
      },
      "/api/routes/{id}/noise": {
        post: { summary: "Confirm or reject a field as noise for the route's comparisons (audited)", security: secured, parameters: [routeId], requestBody: bodyOf(noiseSchema), responses: { 200: { description: "the noise entry" }, ...writeErrors } },
      },
      "/api/divergences/{signatureId}/acknowledge": {
        post: {
          summary: "Mark a divergence signature fixed, accepted (intended) or open again (audited)",
          security: secured,
          parameters: [{ name: "signatureId", in: "path", required: true, schema: { type: "integer" } }],
          requestBody: bodyOf(acknowledgeSchema),
          responses: { 200: { description: "the signature" }, ...writeErrors, 404: errorResponse("Unknown signature") },
        },
      },
      "/api/divergences/{signatureId}/examples/{exampleId}/replay": {
        post: {
          summary: "Send a stored example (GET or HEAD only; headers stored redacted are withheld, query parameters stored redacted are sent as stored) again to both backends of its route and answer the fresh comparison: outcome, differences, readable diff, each side's status and time",
          security: secured,
          parameters: [
            { name: "signatureId", in: "path", required: true, schema: { type: "integer" } },
            { name: "exampleId", in: "path", required: true, schema: { type: "integer" } },
          ],
          requestBody: bodyOf(replaySchema),
          responses: { 200: { description: "the replay's comparison" }, 401: writeErrors[401], 404: errorResponse("Unknown signature, example or route"), 409: errorResponse("Not replayable: not GET/HEAD, a stored path that is not origin-form, the route is not shadowed, or an answer exceeds shadow.maxResponseBytes") },
        },
      },
      "/openapi.json": { get: { summary: "This document", responses: { 200: { description: "OpenAPI 3.1" } } } },
      "/dashboard": { get: { summary: "The migration dashboard (HTML; Basic authentication with the token as password)", security: secured, responses: { 200: { description: "HTML" }, 401: writeErrors[401] } } },
      "/dashboard/dashboard.js": { get: { summary: "The dashboard's script", security: secured, responses: { 200: { description: "JavaScript" } } } },
      "/dashboard/charts.js": { get: { summary: "The dashboard's charts (hand-drawn SVG, no library)", security: secured, responses: { 200: { description: "JavaScript" } } } },
      "/dashboard/dashboard.css": { get: { summary: "The dashboard's style sheet", security: secured, responses: { 200: { description: "CSS" } } } },
      "/": { get: { summary: "Redirects to the dashboard", responses: { 302: { description: "to /dashboard" } } } },
      "/favicon.ico": { get: { summary: "No icon: 204", responses: { 204: { description: "empty" } } } },
      "/api/audit": {
        get: {
          summary: "The audit log, newest first, paged with `before`",
          security: secured,
          parameters: [
            { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500, default: 50 } },
            { name: "before", in: "query", schema: { type: "integer" }, description: "return entries with a smaller id (the previous page's nextBefore)" },
            { name: "route", in: "query", schema: { type: "string" } },
          ],
          responses: { 200: { description: "entries and nextBefore" }, 400: writeErrors[400], 401: writeErrors[401] },
        },
      },
    },
  });
}

const forbidden = errorResponse("The token's role does not cover the call (code forbidden: `required` names the role needed), or the route is outside the token's routes (code forbidden_route)");

/**
 * Each `/api` operation with the role it needs (`x-strangler-role`, from ENDPOINT_ACCESS: the table the
 * API enforces) and its 403; `/metrics` notes that `admin.protectMetrics` can ask for a token.
 */
function withRoles<T extends { paths: Record<string, Record<string, { responses?: object; description?: string }>> }>(doc: T): T {
  for (const [path, operations] of Object.entries(doc.paths)) {
    if (!path.startsWith("/api/")) continue;
    const registered = path.replace(/\{(\w+)\}/g, ":$1");
    for (const [method, operation] of Object.entries(operations)) {
      const access = endpointAccess(method.toUpperCase(), registered).access;
      Object.assign(operation, { "x-strangler-role": access.role, responses: { ...operation.responses, 403: forbidden } });
    }
  }
  return doc;
}
