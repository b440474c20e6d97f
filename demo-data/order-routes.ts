import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import type { Hono } from "hono";
import { jsonError, money, pagingOf } from "./http.ts";
import { cancelOrder, getOrder, listOrders, placeOrder, type OrderError, type OrderWithItems } from "./orders-repo.ts";

/** An order as JSON, with line totals and the order total. */
export function orderJson({ order, items }: OrderWithItems): Record<string, unknown> {
  const lines = items.map((i) => ({
    productId: i.product_id,
    name: i.name,
    quantity: i.quantity,
    unitPrice: money(i.unit_price_cents),
    lineTotal: money(i.unit_price_cents * i.quantity),
  }));
  return {
    id: order.id,
    userId: order.user_id,
    status: order.status,
    items: lines,
    total: money(items.reduce((sum, i) => sum + i.unit_price_cents * i.quantity, 0)),
    currency: order.currency,
    createdAt: order.created_at,
    updatedAt: order.updated_at,
    cancelledAt: order.cancelled_at,
  };
}

const STATUS_OF_ERROR: Record<OrderError["error"], 400 | 404 | 409> = {
  unknown_user: 400,
  unknown_product: 400,
  insufficient_stock: 409,
  not_found: 404,
  already_cancelled: 409,
};

function isOrderError(value: OrderWithItems | OrderError): value is OrderError {
  return "error" in value;
}

interface NewOrderBody {
  userId: string;
  items: Array<{ productId: string; quantity: number }>;
}

function newOrderOf(body: unknown): NewOrderBody | string {
  if (!body || typeof body !== "object") return "body must be a JSON object";
  const { userId, items } = body as { userId?: unknown; items?: unknown };
  if (typeof userId !== "string" || userId === "") return "userId must be a non-empty string";
  if (!Array.isArray(items) || items.length === 0 || items.length > 50) return "items must be an array of 1 to 50 items";
  const seen = new Set<string>();
  for (const [i, item] of items.entries()) {
    const { productId, quantity } = (item ?? {}) as { productId?: unknown; quantity?: unknown };
    if (typeof productId !== "string") return `items[${i}].productId must be a string`;
    if (!Number.isInteger(quantity) || (quantity as number) < 1 || (quantity as number) > 100) return `items[${i}].quantity must be a whole number from 1 to 100`;
    if (seen.has(productId)) return `items[${i}].productId ${productId} appears twice`;
    seen.add(productId);
  }
  return { userId, items: items as NewOrderBody["items"] };
}

/**
 * Order endpoints over an orders database. `tieBreak` orders the orders placed at the same instant
 * by id, ascending in the monolith.
 */
export function registerOrderRoutes(app: Hono, db: Database.Database, tieBreak: "ASC" | "DESC"): void {
  app.get("/api/orders", (c) => {
    const paging = pagingOf(c);
    if (typeof paging === "string") return jsonError(c, 400, "invalid_query", paging);
    const { rows, total } = listOrders(db, { userId: c.req.query("userId"), status: c.req.query("status"), ...paging }, tieBreak);
    return c.json({ items: rows.map(orderJson), page: paging.page, pageSize: paging.pageSize, total, generatedAt: new Date().toISOString(), requestId: randomUUID() });
  });

  app.get("/api/orders/:id", (c) => {
    const found = getOrder(db, c.req.param("id"));
    return found ? c.json(orderJson(found)) : jsonError(c, 404, "not_found", `no order ${c.req.param("id")}`);
  });

  app.post("/api/orders", async (c) => {
    const body: unknown = await c.req.json().catch(() => undefined);
    const input = newOrderOf(body);
    if (typeof input === "string") return jsonError(c, 400, "invalid_body", input);
    const result = placeOrder(db, input.userId, input.items);
    if (isOrderError(result)) return jsonError(c, STATUS_OF_ERROR[result.error], result.error, result.message);
    c.header("location", `/api/orders/${result.order.id}`);
    return c.json(orderJson(result), 201);
  });

  app.post("/api/orders/:id/cancel", (c) => {
    const result = cancelOrder(db, c.req.param("id"));
    if (isOrderError(result)) return jsonError(c, STATUS_OF_ERROR[result.error], result.error, result.message);
    return c.json(orderJson(result));
  });
}
