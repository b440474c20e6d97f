import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import type { Context, Hono } from "hono";
import { getInventory, getProduct, listProducts, type ProductFilters, type ProductRow } from "./catalog-repo.ts";
import { jsonError, money, pagingOf } from "./http.ts";

/** Turns a stored product into its JSON form; the monolith and the catalog service each bring their own. */
export type ProductSerializer = (row: ProductRow) => Record<string, unknown>;

/** The monolith's product JSON, which the catalog service was carved out of. */
export const monolithProductJson: ProductSerializer = (row) => ({
  id: row.id,
  sku: row.sku,
  name: row.name,
  category: row.category,
  price: money(row.price_cents),
  currency: row.currency,
  description: row.description,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const SORTS = new Set(["id", "price", "-price", "name"]);

function filtersOf(query: Record<string, string>): ProductFilters | string {
  const f: ProductFilters = { sort: "id", page: 1, pageSize: 20 };
  if (query.category) f.category = query.category;
  if (query.q) f.search = query.q;
  for (const [key, field] of [["minPrice", "minPriceCents"], ["maxPrice", "maxPriceCents"]] as const) {
    const value = query[key];
    if (value === undefined) continue;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) return `${key} must be a non-negative number`;
    f[field] = Math.round(n * 100);
  }
  if (query.sort !== undefined) {
    if (!SORTS.has(query.sort)) return `sort must be one of ${[...SORTS].join(", ")}`;
    f.sort = query.sort as ProductFilters["sort"];
  }
  return f;
}

/** One product, or a 404 JSON error: the monolith's `/api/products/:id`, and the catalog service's `/products/:id` too. */
export function productDetail(c: Context, db: Database.Database, productJson: ProductSerializer): Response {
  const row = getProduct(db, c.req.param("id") as string);
  if (!row) return jsonError(c, 404, "not_found", `no product ${c.req.param("id")}`);
  return c.json(productJson(row));
}

/** Product list/detail and inventory endpoints over a catalog database. */
export function registerCatalogRoutes(app: Hono, db: Database.Database, productJson: ProductSerializer): void {
  app.get("/api/products", (c) => {
    const paging = pagingOf(c);
    if (typeof paging === "string") return jsonError(c, 400, "invalid_query", paging);
    const filters = filtersOf(c.req.query());
    if (typeof filters === "string") return jsonError(c, 400, "invalid_query", filters);
    const { rows, total } = listProducts(db, { ...filters, ...paging });
    return c.json({ items: rows.map(productJson), page: paging.page, pageSize: paging.pageSize, total, generatedAt: new Date().toISOString(), requestId: randomUUID() });
  });

  app.get("/api/products/:id", (c) => productDetail(c, db, productJson));

  app.get("/api/inventory/:productId", (c) => {
    const row = getInventory(db, c.req.param("productId"));
    if (!row) return jsonError(c, 404, "not_found", `no inventory for ${c.req.param("productId")}`);
    return c.json({ productId: row.product_id, available: row.quantity, inStock: row.quantity > 0, updatedAt: row.updated_at, checkedAt: new Date().toISOString() });
  });
}
