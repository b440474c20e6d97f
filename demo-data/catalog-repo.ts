import type Database from "better-sqlite3";

/** A product row as stored. */
export interface ProductRow {
  id: string;
  sku: string;
  name: string;
  category: string;
  price_cents: number;
  currency: string;
  description: string;
  created_at: string;
  updated_at: string;
}
export interface InventoryRow {
  product_id: string;
  quantity: number;
  updated_at: string;
}

export interface ProductFilters {
  category?: string;
  minPriceCents?: number;
  maxPriceCents?: number;
  search?: string;
  sort: "id" | "price" | "-price" | "name";
  page: number;
  pageSize: number;
}

const ORDER_BY: Record<ProductFilters["sort"], string> = {
  id: "id ASC",
  price: "price_cents ASC, id ASC",
  "-price": "price_cents DESC, id ASC",
  name: "name ASC, id ASC",
};

/** Products matching the filters, one page of them, and how many match in all. */
export function listProducts(db: Database.Database, f: ProductFilters): { rows: ProductRow[]; total: number } {
  const where: string[] = [];
  const params: Record<string, string | number> = {};
  if (f.category !== undefined) (where.push("category = @category"), (params.category = f.category));
  if (f.minPriceCents !== undefined) (where.push("price_cents >= @min"), (params.min = f.minPriceCents));
  if (f.maxPriceCents !== undefined) (where.push("price_cents <= @max"), (params.max = f.maxPriceCents));
  if (f.search !== undefined) (where.push("name LIKE @search"), (params.search = `%${f.search}%`));
  const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
  const total = (db.prepare(`SELECT count(*) AS n FROM products ${clause}`).get(params) as { n: number }).n;
  const rows = db
    .prepare(`SELECT * FROM products ${clause} ORDER BY ${ORDER_BY[f.sort]} LIMIT @limit OFFSET @offset`)
    .all({ ...params, limit: f.pageSize, offset: (f.page - 1) * f.pageSize }) as ProductRow[];
  return { rows, total };
}

export function getProduct(db: Database.Database, id: string): ProductRow | undefined {
  return db.prepare("SELECT * FROM products WHERE id = ?").get(id) as ProductRow | undefined;
}

export function getInventory(db: Database.Database, productId: string): InventoryRow | undefined {
  return db.prepare("SELECT * FROM inventory WHERE product_id = ?").get(productId) as InventoryRow | undefined;
}
