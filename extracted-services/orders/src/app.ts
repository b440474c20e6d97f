import type Database from "better-sqlite3";
import { Hono } from "hono";
import { registerFailureSwitch } from "../../../demo-data/failure-switch.ts";
import { jsonError } from "../../../demo-data/http.ts";
import { registerOrderRoutes } from "../../../demo-data/order-routes.ts";
import { startDemoApp, type DemoAppOptions, type RunningDemoApp } from "../../../demo-data/start-demo-app.ts";

/**
 * The orders service, carved out of the monolith. Deliberate difference (see ../README.md): orders
 * placed at the same instant are listed by id descending, where the monolith lists them ascending.
 */
export function createOrdersApp(db: Database.Database): Hono {
  const app = new Hono();
  registerFailureSwitch(app);
  app.get("/healthz", (c) => c.json({ status: "ok", service: "orders" }));
  registerOrderRoutes(app, db, "DESC");
  app.notFound((c) => jsonError(c, 404, "not_found", `no such endpoint: ${c.req.method} ${c.req.path}`));
  return app;
}

/**
 * Opens (seeding on first use) `<dataDir>/orders.db` and serves the orders service. It keeps its own
 * copies of users, products and stock, as the monolith's tables were copied when it was carved out.
 */
export function startOrders(options: DemoAppOptions): Promise<RunningDemoApp> {
  return startDemoApp("orders.db", ["users", "catalog", "orders"], createOrdersApp, options);
}
