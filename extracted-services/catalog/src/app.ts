import type Database from "better-sqlite3";
import { Hono } from "hono";
import type { ProductRow } from "../../../demo-data/catalog-repo.ts";
import { monolithProductJson, productDetail, registerCatalogRoutes, type ProductSerializer } from "../../../demo-data/catalog-routes.ts";
import { registerFailureSwitch } from "../../../demo-data/failure-switch.ts";
import { jsonError } from "../../../demo-data/http.ts";
import { startDemoApp, type DemoAppOptions, type RunningDemoApp } from "../../../demo-data/start-demo-app.ts";

/**
 * The catalog service's product JSON. Deliberate difference from the monolith (see ../README.md):
 * books are priced with a string ("12.99"), as the team that rewrote pricing for the book store did.
 */
export const catalogProductJson: ProductSerializer = (row: ProductRow) => {
  const json = monolithProductJson(row);
  return row.category === "books" ? { ...json, price: (row.price_cents / 100).toFixed(2) } : json;
};

/** The catalog service: product reads and inventory, carved out of the monolith. */
export function createCatalogApp(db: Database.Database): Hono {
  const app = new Hono();
  registerFailureSwitch(app);
  app.get("/healthz", (c) => c.json({ status: "ok", service: "catalog" }));
  registerCatalogRoutes(app, db, catalogProductJson);
  // The service's own path for a product: the proxy's product-detail route rewrites /api/products/:id to it.
  app.get("/products/:id", (c) => productDetail(c, db, catalogProductJson));
  app.notFound((c) => jsonError(c, 404, "not_found", `no such endpoint: ${c.req.method} ${c.req.path}`));
  return app;
}

/** Opens (seeding on first use) `<dataDir>/catalog.db` and serves the catalog service. */
export function startCatalog(options: DemoAppOptions): Promise<RunningDemoApp> {
  return startDemoApp("catalog.db", ["catalog"], createCatalogApp, options);
}
