import { z } from "zod";
import { reasonOnlySchema, rolloutUpdateSchema } from "./admin-schemas.ts";

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

/** The OpenAPI 3.1 description of the admin API; request bodies come from the same zod schemas that check them. */
export function openApiDocument() {
  return {
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
      "/metrics": { get: { summary: "Prometheus metrics", responses: { 200: { description: "text exposition format" } } } },
      "/api/routes": {
        get: { summary: "List routes with configured and live percentages", security: secured, responses: { 200: json("Routes", "#/components/schemas/Route"), 401: writeErrors[401] } },
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
          parameters: [
            { name: "hours", in: "query", schema: { type: "integer", minimum: 1, maximum: 2160, default: 24 } },
            { name: "unclaimed", in: "query", schema: { type: "string", enum: ["0", "1", "true", "false"] }, description: "only the templates no route claims" },
          ],
          responses: { 200: { description: "{ windowMs, requests, servedByServices, templates: { total, claimed, unclaimed }, overflow, hours: [{ at, requests, servedByServices }], rows: [...], routes: [{ id, requests, servedByServices, lastMonolithAt }] }" }, 400: writeErrors[400], 401: writeErrors[401] },
        },
      },
      "/api/map/suggest": {
        get: {
          summary: "Where to cut next: the busiest unclaimed templates grouped by prefix, each group with the backend and routes that would claim it (JSON, and as TypeScript to paste into routes.config.ts)",
          security: secured,
          parameters: [
            { name: "hours", in: "query", schema: { type: "integer", minimum: 1, maximum: 2160, default: 24 } },
            { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 50, default: 5 } },
          ],
          responses: { 200: { description: "{ windowMs, requests, suggestions: [{ prefix, requests, share, templates, backend, routes, snippet }] }" }, 400: writeErrors[400], 401: writeErrors[401] },
        },
      },
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
  };
}
