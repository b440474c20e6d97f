import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";

export interface OrderRow {
  id: string;
  user_id: string;
  status: string;
  currency: string;
  created_at: string;
  updated_at: string;
  cancelled_at: string | null;
}
export interface OrderItemRow {
  product_id: string;
  name: string;
  quantity: number;
  unit_price_cents: number;
}
export interface OrderWithItems {
  order: OrderRow;
  items: OrderItemRow[];
}

export interface OrderFilters {
  userId?: string;
  status?: string;
  page: number;
  pageSize: number;
}

export type OrderError =
  | { error: "unknown_user"; message: string }
  | { error: "unknown_product"; message: string }
  | { error: "insufficient_stock"; message: string }
  | { error: "not_found"; message: string }
  | { error: "already_cancelled"; message: string };

/** Orders newest first; `tieBreak` orders those placed at the same instant by id. */
export function listOrders(db: Database.Database, f: OrderFilters, tieBreak: "ASC" | "DESC"): { rows: OrderWithItems[]; total: number } {
  const where: string[] = [];
  const params: Record<string, string | number> = {};
  if (f.userId !== undefined) (where.push("user_id = @userId"), (params.userId = f.userId));
  if (f.status !== undefined) (where.push("status = @status"), (params.status = f.status));
  const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
  const total = (db.prepare(`SELECT count(*) AS n FROM orders ${clause}`).get(params) as { n: number }).n;
  const orders = db
    .prepare(`SELECT * FROM orders ${clause} ORDER BY created_at DESC, id ${tieBreak} LIMIT @limit OFFSET @offset`)
    .all({ ...params, limit: f.pageSize, offset: (f.page - 1) * f.pageSize }) as OrderRow[];
  return { rows: orders.map((order) => ({ order, items: itemsOf(db, order.id) })), total };
}

function itemsOf(db: Database.Database, orderId: string): OrderItemRow[] {
  return db
    .prepare(
      `SELECT i.product_id, coalesce(p.name, '') AS name, i.quantity, i.unit_price_cents
       FROM order_items i LEFT JOIN products p ON p.id = i.product_id WHERE i.order_id = ? ORDER BY i.product_id`,
    )
    .all(orderId) as OrderItemRow[];
}

export function getOrder(db: Database.Database, id: string): OrderWithItems | undefined {
  const order = db.prepare("SELECT * FROM orders WHERE id = ?").get(id) as OrderRow | undefined;
  return order ? { order, items: itemsOf(db, id) } : undefined;
}

/** Places an order: checks the user, the products and the stock, and takes the stock, in one transaction. */
export function createOrder(
  db: Database.Database,
  userId: string,
  items: ReadonlyArray<{ productId: string; quantity: number }>,
): OrderWithItems | OrderError {
  return db.transaction((): OrderWithItems | OrderError => {
    if (!db.prepare("SELECT 1 FROM users WHERE id = ?").get(userId)) return { error: "unknown_user", message: `no user ${userId}` };
    const now = new Date().toISOString();
    const id = `ord_${randomUUID()}`;
    db.prepare("INSERT INTO orders (id, user_id, status, created_at, updated_at) VALUES (?, ?, 'placed', ?, ?)").run(id, userId, now, now);
    for (const { productId, quantity } of items) {
      const product = db.prepare("SELECT price_cents FROM products WHERE id = ?").get(productId) as { price_cents: number } | undefined;
      if (!product) throw Object.assign(new Error(`no product ${productId}`), { orderError: "unknown_product" as const });
      const taken = db.prepare("UPDATE inventory SET quantity = quantity - ?, updated_at = ? WHERE product_id = ? AND quantity >= ?").run(quantity, now, productId, quantity);
      if (taken.changes === 0) throw Object.assign(new Error(`not enough stock of ${productId}`), { orderError: "insufficient_stock" as const });
      db.prepare("INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES (?, ?, ?, ?)").run(id, productId, quantity, product.price_cents);
    }
    return getOrder(db, id) as OrderWithItems;
  })();
}

/** Wraps createOrder so a failed check rolls the transaction back and comes out as an OrderError. */
export function placeOrder(
  db: Database.Database,
  userId: string,
  items: ReadonlyArray<{ productId: string; quantity: number }>,
): OrderWithItems | OrderError {
  try {
    return createOrder(db, userId, items);
  } catch (error) {
    const kind = (error as { orderError?: "unknown_product" | "insufficient_stock" }).orderError;
    if (kind) return { error: kind, message: (error as Error).message };
    throw error;
  }
}

/** Cancels an order and puts its stock back. */
export function cancelOrder(db: Database.Database, id: string): OrderWithItems | OrderError {
  return db.transaction((): OrderWithItems | OrderError => {
    const found = getOrder(db, id);
    if (!found) return { error: "not_found", message: `no order ${id}` };
    if (found.order.status === "cancelled") return { error: "already_cancelled", message: `order ${id} is already cancelled` };
    const now = new Date().toISOString();
    db.prepare("UPDATE orders SET status = 'cancelled', cancelled_at = ?, updated_at = ? WHERE id = ?").run(now, now, id);
    for (const item of found.items) {
      db.prepare("UPDATE inventory SET quantity = quantity + ?, updated_at = ? WHERE product_id = ?").run(item.quantity, now, item.product_id);
    }
    return getOrder(db, id) as OrderWithItems;
  })();
}
