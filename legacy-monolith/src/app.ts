import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import { Hono } from "hono";
import { monolithProductJson, registerCatalogRoutes } from "../../demo-data/catalog-routes.ts";
import { jsonError, pagingOf } from "../../demo-data/http.ts";
import { registerOrderRoutes } from "../../demo-data/order-routes.ts";
import { startDemoApp, type DemoAppOptions, type RunningDemoApp } from "../../demo-data/start-demo-app.ts";

interface UserRow {
  id: string;
  email: string;
  name: string;
  created_at: string;
}

const userJson = (u: UserRow) => ({ id: u.id, email: u.email, name: u.name, createdAt: u.created_at });

function registerUserRoutes(app: Hono, db: Database.Database): void {
  app.get("/api/users", (c) => {
    const paging = pagingOf(c);
    if (typeof paging === "string") return jsonError(c, 400, "invalid_query", paging);
    const rows = db.prepare("SELECT * FROM users ORDER BY id LIMIT ? OFFSET ?").all(paging.pageSize, (paging.page - 1) * paging.pageSize) as UserRow[];
    const total = (db.prepare("SELECT count(*) AS n FROM users").get() as { n: number }).n;
    return c.json({ items: rows.map(userJson), ...paging, total, generatedAt: new Date().toISOString(), requestId: randomUUID() });
  });
  app.get("/api/users/:id", (c) => {
    const row = db.prepare("SELECT * FROM users WHERE id = ?").get(c.req.param("id")) as UserRow | undefined;
    return row ? c.json(userJson(row)) : jsonError(c, 404, "not_found", `no user ${c.req.param("id")}`);
  });
}

function registerCartRoutes(app: Hono, db: Database.Database): void {
  const cartOf = (userId: string) => {
    const items = db
      .prepare(
        `SELECT c.product_id, c.quantity, c.added_at, p.name, p.price_cents FROM cart_items c JOIN products p ON p.id = c.product_id
         WHERE c.user_id = ? ORDER BY c.added_at, c.product_id`,
      )
      .all(userId) as Array<{ product_id: string; quantity: number; added_at: string; name: string; price_cents: number }>;
    return {
      userId,
      items: items.map((i) => ({ productId: i.product_id, name: i.name, quantity: i.quantity, unitPrice: i.price_cents / 100, addedAt: i.added_at })),
      total: items.reduce((sum, i) => sum + i.price_cents * i.quantity, 0) / 100,
      currency: "EUR",
      generatedAt: new Date().toISOString(),
    };
  };
  const userExists = (id: string) => db.prepare("SELECT 1 FROM users WHERE id = ?").get(id) !== undefined;

  app.get("/api/cart/:userId", (c) => {
    const userId = c.req.param("userId");
    return userExists(userId) ? c.json(cartOf(userId)) : jsonError(c, 404, "not_found", `no user ${userId}`);
  });
  app.post("/api/cart/:userId/items", async (c) => {
    const userId = c.req.param("userId");
    if (!userExists(userId)) return jsonError(c, 404, "not_found", `no user ${userId}`);
    const body = (await c.req.json().catch(() => undefined)) as { productId?: unknown; quantity?: unknown } | undefined;
    if (typeof body?.productId !== "string") return jsonError(c, 400, "invalid_body", "productId must be a string");
    const quantity = body.quantity ?? 1;
    if (!Number.isInteger(quantity) || (quantity as number) < 1) return jsonError(c, 400, "invalid_body", "quantity must be a whole number from 1");
    if (!db.prepare("SELECT 1 FROM products WHERE id = ?").get(body.productId)) return jsonError(c, 400, "unknown_product", `no product ${body.productId}`);
    db.prepare(
      `INSERT INTO cart_items (user_id, product_id, quantity, added_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = quantity + excluded.quantity`,
    ).run(userId, body.productId, quantity, new Date().toISOString());
    return c.json(cartOf(userId), 201);
  });
  app.delete("/api/cart/:userId/items/:productId", (c) => {
    const { userId, productId } = c.req.param();
    const removed = db.prepare("DELETE FROM cart_items WHERE user_id = ? AND product_id = ?").run(userId, productId);
    return removed.changes > 0 ? c.json(cartOf(userId)) : jsonError(c, 404, "not_found", `no ${productId} in the cart of ${userId}`);
  });
}

/** The legacy e-commerce monolith: users, products, inventory, carts and orders in one app and one database. */
export function createMonolithApp(db: Database.Database): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok", service: "legacy-monolith" }));
  app.get("/", (c) =>
    c.json({
      service: "legacy-monolith",
      endpoints: [
        "GET /api/users", "GET /api/users/:id", "GET /api/products", "GET /api/products/:id", "GET /api/inventory/:productId",
        "GET /api/cart/:userId", "POST /api/cart/:userId/items", "DELETE /api/cart/:userId/items/:productId",
        "GET /api/orders", "GET /api/orders/:id", "POST /api/orders", "POST /api/orders/:id/cancel",
      ],
    }),
  );
  registerUserRoutes(app, db);
  registerCatalogRoutes(app, db, monolithProductJson);
  registerCartRoutes(app, db);
  registerOrderRoutes(app, db, "ASC");
  app.notFound((c) => jsonError(c, 404, "not_found", `no such endpoint: ${c.req.method} ${c.req.path}`));
  return app;
}

/** Opens (seeding on first use) `<dataDir>/monolith.db` and serves the monolith. */
export function startMonolith(options: DemoAppOptions): Promise<RunningDemoApp> {
  return startDemoApp("monolith.db", ["users", "catalog", "orders", "carts"], createMonolithApp, options);
}
