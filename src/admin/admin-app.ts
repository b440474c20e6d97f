import type { ObservedShare } from "../decision/decision-tally.ts";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { MetricsSource } from "../metrics/cluster-metrics.ts";
import type { RouteConfig } from "../config/schema.ts";
import type { ChangeResult, RolloutService } from "../rollout/rollout-service.ts";
import { AdminError } from "./admin-error.ts";
import { auditQuerySchema, mapQuerySchema, reasonOnlySchema, rolloutUpdateSchema, suggestQuerySchema } from "./admin-schemas.ts";
import { tokenOf, type AdminToken } from "./admin-tokens.ts";
import { grantCoversRoute, grantFor, LOOPBACK_GRANT, type AccessConfig, type AdminEnv } from "./access.ts";
import { authorize } from "./authorize.ts";
import { ENDPOINT_ACCESS } from "./endpoint-roles.ts";
import { DASHBOARD_CSP, dashboardAssets } from "./dashboard/dashboard-page.ts";
import { openApiDocument } from "./openapi.ts";
import { readBody, readQuery } from "./read-input.ts";
import { requestGuard, type RequestGuardOptions } from "./request-guard.ts";
import { routeView } from "./route-views.ts";
import { registerShadowApi } from "./shadow-api.ts";
import { registerRecordingApi, type RecordingApiOptions } from "./recording-api.ts";
import { registerReplayApi, type ReplayApiOptions } from "./replay-api.ts";
import type { ReplayOptions } from "./replay.ts";
import { registerMigrationApi } from "./migration-api.ts";
import type { MigrationService } from "../guard/migration-service.ts";
import type { ShadowRunner } from "../shadow/shadow-runner.ts";
import type { ShadowStore } from "../store/shadow-store.ts";
import type { Backend } from "../proxy/backend-pool.ts";
import { backendView } from "./backend-views.ts";
import type { WebhookWiring } from "../wiring/webhook-wiring.ts";
import { registerWebhookApi } from "./webhook-api.ts";

export interface AdminAppOptions {
  /** True once the data plane is listening. */
  readonly isServing: () => boolean;
  /** True when requests can be decided: serving, the database answers, the flag provider is ready. */
  readonly isReady: () => boolean;
  /** Bearer tokens; with none, the API is open (the listener then only starts on loopback). */
  readonly tokens: readonly AdminToken[];
  /** Roles and limits by token label, and whether `/metrics` asks for a token (the config in force). */
  readonly access: () => AccessConfig & { readonly protectMetrics: boolean };
  /** The routes of the config in force. */
  readonly routes: () => readonly RouteConfig[];
  /** The backends in force, with their destinations' live state. */
  readonly backends: () => ReadonlyMap<string, Backend>;
  readonly rollouts: RolloutService;
  readonly shadows: ShadowRunner;
  readonly shadowEvidence: ShadowStore;
  readonly migrations: MigrationService;
  /** What `/metrics` answers: this process's registry, or the cluster's sum under `--workers`. */
  readonly metrics: MetricsSource;
  /** The dashboard's overview (see overview.ts) and a route's history. */
  readonly overview: () => Promise<unknown>;
  readonly history: (routeId: string, hours: number) => Promise<unknown>;
  /** True when another OpenFeature provider decides routes: percentages are then changed there, not here. */
  readonly externallyManaged: () => boolean;
  /** With an external provider: what it decided lately, per route (shown as the live percentage). */
  readonly observed?: (routeId: string) => ObservedShare;
  /** The nodes sharing this node's store, seen lately (this one included). */
  readonly fleet: () => Promise<unknown>;
  /** The migration map over the last `hours` (see map-view.ts); only the monolith's own templates with `unclaimed`. */
  readonly map: (query: { hours: number; unclaimed: boolean }) => Promise<unknown>;
  /** Where to cut next (see suggest.ts). */
  readonly suggest: (query: { hours: number; limit: number }) => Promise<unknown>;
  /** What replaying a stored divergence example needs: the backends in force and the comparison's limits. */
  readonly replay: ReplayOptions;
  /** Recordings for replay: the recorder, the store, and the largest size one may ask for. */
  readonly recordings: Omit<RecordingApiOptions, "audit" | "findRoute">;
  readonly replays: ReplayApiOptions;
  /** Largest request body read (`admin.maxBodyBytes`). */
  readonly maxBodyBytes: number;
  /** The webhooks in force, their deliveries, and a test delivery. */
  readonly webhooks: Pick<WebhookWiring, "view" | "test">;
  /** The listener's own address and allowed host names, to refuse cross-site pages and DNS rebinding. */
  readonly origin: RequestGuardOptions;
  /** Told of every 401 and 403 (a token missing or wrong, a role or route refused, a cross-site page): counted and logged. */
  readonly onRefusal?: (refusal: AdminRefusal) => void;
}

type Env = AdminEnv;

/** A call the admin listener refused before doing anything. */
export interface AdminRefusal {
  readonly status: 401 | 403;
  readonly code: string;
  /** The token's label, when one was recognised. */
  readonly actor: string | null;
  readonly method: string;
  readonly path: string;
}

/**
 * The admin listener's app: `/healthz`, `/readyz`, `/metrics` and `/openapi.json` open; `/api/*` behind
 * a bearer token. Every change is audited with the token's label as the actor.
 */
export function createAdminApp(options: AdminAppOptions): Hono<Env> {
  const { rollouts } = options;
  const app = new Hono<Env>();

  const findRoute = (id: string): RouteConfig => {
    const route = options.routes().find((r) => r.id === id);
    if (!route) throw new AdminError(404, "route_not_found", `no route "${id}" in the config in force`);
    return route;
  };
  const view = (route: RouteConfig) => ({ ...routeView(route, rollouts.state.record(route.id), options.observed?.(route.id)), state: options.migrations.get(route.id)?.state ?? null });
  const changed = (c: Context<Env>, route: RouteConfig, result: ChangeResult) => {
    if (!result.ok) throw new AdminError(404, "route_not_found", `no rollout state for route "${route.id}"`);
    return c.json({ route: view(route), previousPercent: result.before.percent });
  };
  const writable = () => {
    if (options.externallyManaged()) {
      throw new AdminError(409, "externally_managed", "routes are decided by the OpenFeature provider configured in routes.config.ts: change percentages there");
    }
  };

  app.get("/healthz", (c) => (options.isServing() ? c.json({ status: "ok" }) : c.json({ status: "starting" }, 503)));
  app.get("/readyz", (c) => {
    return options.isReady() ? c.json({ status: "ready" }) : c.json({ status: "not_ready" }, 503);
  });
  app.use("/metrics", async (c, next) => {
    if (options.access().protectMetrics) await authenticate("api")(c, async () => {});
    await next();
  });
  app.get("/metrics", async (c) => {
    let text: string;
    try {
      text = await options.metrics.text();
    } catch (error) {
      // A partial answer would read as counter resets: none at all is the honest one.
      throw new AdminError(503, "metrics_unavailable", `the cluster's metrics could not be collected: ${(error as Error).message}`);
    }
    return c.body(text, 200, { "content-type": options.metrics.contentType });
  });
  app.get("/openapi.json", (c) => c.json(openApiDocument()));

  // The API and the dashboard share one authentication: a Bearer token, or Basic with the token as the
  // password (a browser prompts for it on the dashboard and then sends it with every call the page makes).
  function authenticate(realm: "api" | "dashboard") {
    return async (c: Context<Env>, next: () => Promise<void>) => {
      if (options.tokens.length === 0) {
        c.set("actor", LOOPBACK_GRANT.label);
        c.set("grant", LOOPBACK_GRANT);
        return next();
      }
      const token = tokenOf(c.req.header("authorization"), options.tokens);
      if (!token) {
        c.header("www-authenticate", realm === "dashboard" ? 'Basic realm="strangler-fig admin", charset="UTF-8"' : 'Bearer realm="strangler-fig admin"');
        throw new AdminError(401, "unauthorized", c.req.header("authorization") ? "the bearer token is not valid" : "an Authorization: Bearer <token> header is required");
      }
      c.set("actor", token.label);
      c.set("grant", grantFor(token.label, token.role, options.access()));
      return next();
    };
  }
  // Before authentication: a page on another site learns nothing, and a browser's cached credentials
  // cannot be ridden into a change.
  const guard = requestGuard(options.origin);
  app.use("/api/*", guard);
  app.use("/dashboard", guard);
  app.use("/dashboard/*", guard);
  app.use("/api/*", authenticate("api"));
  app.use("/api/*", authorize({ signatureRoute: async (id) => (await options.shadowEvidence.signature(id))?.routeId, recordingRoute: async (id) => (await options.recordings.store.get(id))?.routeId }));
  app.use("/dashboard", authenticate("dashboard"));
  app.use("/dashboard/*", authenticate("dashboard"));
  const page = (body: string, type: string) => (c: Context<Env>) =>
    c.body(body, 200, { "content-type": type, "content-security-policy": DASHBOARD_CSP, "x-content-type-options": "nosniff", "cache-control": "no-store" });
  app.get("/dashboard", page(dashboardAssets.page, "text/html; charset=utf-8"));
  app.get("/dashboard/dashboard.css", page(dashboardAssets.css, "text/css; charset=utf-8"));
  app.get("/dashboard/dashboard.js", page(dashboardAssets.script, "text/javascript; charset=utf-8"));
  app.get("/dashboard/charts.js", page(dashboardAssets.charts, "text/javascript; charset=utf-8"));
  app.get("/", (c) => c.redirect("/dashboard"));
  app.get("/favicon.ico", (c) => c.body(null, 204));

  app.use(
    "/api/*",
    bodyLimit({
      maxSize: options.maxBodyBytes,
      onError: () => {
        throw new AdminError(413, "body_too_large", `the body must be at most ${options.maxBodyBytes} bytes`);
      },
    }),
  );

  app.get("/api/session", (c) => {
    const grant = c.get("grant");
    return c.json({
      actor: grant.label,
      role: grant.role,
      routes: grant.routes,
      // The routes in force this token may change (all of them without a limit): the cockpit hides the rest's actions.
      changeableRoutes: options.routes().filter((r) => grantCoversRoute(grant, r.id)).map((r) => r.id),
      endpoints: ENDPOINT_ACCESS.filter((e) => e.method !== "GET").map(({ method, path, role }) => ({ method, path, role })),
    });
  });
  app.get("/api/routes", (c) => c.json({ routes: options.routes().map(view) }));
  app.get("/api/backends", (c) => c.json({ backends: [...options.backends().values()].map(backendView) }));
  app.get("/api/backends/:name", (c) => {
    const backend = options.backends().get(c.req.param("name"));
    if (!backend) throw new AdminError(404, "backend_not_found", `no backend "${c.req.param("name")}" in the config in force`);
    return c.json(backendView(backend));
  });
  app.get("/api/overview", async (c) => c.json((await options.overview()) as object));
  app.get("/api/routes/:id/history", async (c) => {
    const route = findRoute(c.req.param("id"));
    const hours = Number(c.req.query("hours") ?? "6");
    if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 7) throw new AdminError(400, "invalid_query", "hours must be a number from 0 to 168");
    return c.json((await options.history(route.id, hours)) as object);
  });
  app.get("/api/routes/:id", (c) => c.json(view(findRoute(c.req.param("id")))));
  app.put("/api/routes/:id/rollout", async (c) => {
    const route = findRoute(c.req.param("id"));
    writable();
    const { percent, reason } = await readBody(c, rolloutUpdateSchema);
    const refusal = percent > 0 ? await options.migrations.raiseRefusal(route.id) : undefined;
    if (refusal && !refusal.ok) throw new AdminError(409, refusal.code, refusal.message);
    const result = await rollouts.setPercent(route.id, percent, c.get("actor"), reason);
    await options.migrations.percentSetByHand(route.id, c.get("actor"));
    return changed(c, route, result);
  });
  app.post("/api/routes/:id/rollback", async (c) => {
    const route = findRoute(c.req.param("id"));
    writable();
    const { reason } = await readBody(c, reasonOnlySchema);
    const result = await rollouts.rollback(route.id, c.get("actor"), reason);
    await options.migrations.percentSetByHand(route.id, c.get("actor"));
    return changed(c, route, result);
  });
  app.post("/api/routes/:id/reroll", async (c) => {
    const route = findRoute(c.req.param("id"));
    writable();
    const { reason } = await readBody(c, reasonOnlySchema);
    return changed(c, route, await rollouts.reroll(route.id, c.get("actor"), reason));
  });
  app.get("/api/audit", async (c) => {
    const { limit, before, route } = readQuery(c, auditQuerySchema);
    const entries = await rollouts.store.audit({ limit, before, routeId: route });
    const last = entries.at(-1);
    return c.json({ entries, nextBefore: entries.length === limit && last ? last.id : null });
  });

  app.get("/api/fleet", async (c) => c.json((await options.fleet()) as object));
  app.get("/api/map", async (c) => {
    const { hours, unclaimed } = readQuery(c, mapQuerySchema);
    return c.json((await options.map({ hours, unclaimed: unclaimed === "1" || unclaimed === "true" })) as object);
  });
  app.get("/api/map/suggest", async (c) => {
    const { hours, limit } = readQuery(c, suggestQuerySchema);
    return c.json((await options.suggest({ hours, limit })) as object);
  });
  registerMigrationApi(app, { migrations: options.migrations, findRoute });
  registerShadowApi(app, {
    routes: options.routes,
    shadows: options.shadows,
    evidence: options.shadowEvidence,
    audit: rollouts.store,
    findRoute,
    replay: options.replay,
  });
  registerRecordingApi(app, { ...options.recordings, audit: rollouts.store, findRoute });
  registerReplayApi(app, options.replays);
  registerWebhookApi(app, { webhooks: options.webhooks, audit: rollouts.store });

  app.notFound((c) => c.json(new AdminError(404, "not_found", `no admin endpoint ${c.req.method} ${c.req.path}`).toJSON(), 404));
  app.onError((error, c) => {
    if (error instanceof AdminError) {
      if (error.status === 401 || error.status === 403) {
        options.onRefusal?.({ status: error.status, code: error.code, actor: c.get("actor") ?? null, method: c.req.method, path: c.req.path });
      }
      return c.json(error.toJSON(), error.status);
    }
    return c.json({ error: { code: "internal", message: error.message } }, 500);
  });
  return app;
}
