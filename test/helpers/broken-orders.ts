import type Database from "better-sqlite3";
import { Hono } from "hono";
import { registerOrderRoutes } from "../../demo-data/order-routes.ts";
import { startDemoApp, type DemoAppOptions, type RunningDemoApp } from "../../demo-data/start-demo-app.ts";

/** The differences planted in the broken copy of the orders service, as a replay's report names them. */
export const PLANTED = ["type_changed $.total", "removed $.currency", "status "] as const;

/**
 * A deliberately broken copy of the orders service, for replay's Done-when: the order's total is a
 * string, its currency is gone, and a new order is answered 200 where the monolith said 201. Over its own
 * copy of the demo data (a sandbox).
 */
export function startBrokenOrders(options: DemoAppOptions): Promise<RunningDemoApp> {
  return startDemoApp(
    "orders.db",
    ["users", "catalog", "orders"],
    (db: Database.Database) => {
      const app = new Hono();
      app.use("/api/orders*", async (c, next) => {
        await next();
        if (!c.res.headers.get("content-type")?.includes("json")) return;
        const body = (await c.res.clone().json()) as Record<string, unknown>;
        if (typeof body.total !== "number") return;
        const { currency: _dropped, ...rest } = body;
        const status = c.res.status === 201 ? 200 : c.res.status;
        c.res = new Response(JSON.stringify({ ...rest, total: String(body.total) }), { status, headers: c.res.headers });
      });
      registerOrderRoutes(app, db, "DESC");
      return app;
    },
    options,
  );
}
