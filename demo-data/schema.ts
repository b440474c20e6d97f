import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { seedOrders, seedProducts, seedUsers } from "./seed-data.ts";

/** Table groups a demo app can own: the monolith owns all of them, each service a subset. */
export type TableGroup = "users" | "catalog" | "orders" | "carts";

const DDL: Record<TableGroup, string> = {
  users: `CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, created_at TEXT NOT NULL);`,
  catalog: `
    CREATE TABLE IF NOT EXISTS products (id TEXT PRIMARY KEY, sku TEXT NOT NULL UNIQUE, name TEXT NOT NULL, category TEXT NOT NULL,
      price_cents INTEGER NOT NULL, currency TEXT NOT NULL DEFAULT 'EUR', description TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS products_category ON products(category);
    CREATE TABLE IF NOT EXISTS inventory (product_id TEXT PRIMARY KEY REFERENCES products(id), quantity INTEGER NOT NULL, updated_at TEXT NOT NULL);`,
  orders: `
    CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, status TEXT NOT NULL, currency TEXT NOT NULL DEFAULT 'EUR',
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL, cancelled_at TEXT);
    CREATE INDEX IF NOT EXISTS orders_user ON orders(user_id, created_at);
    CREATE TABLE IF NOT EXISTS order_items (order_id TEXT NOT NULL REFERENCES orders(id), product_id TEXT NOT NULL, quantity INTEGER NOT NULL,
      unit_price_cents INTEGER NOT NULL, PRIMARY KEY (order_id, product_id));`,
  carts: `CREATE TABLE IF NOT EXISTS cart_items (user_id TEXT NOT NULL, product_id TEXT NOT NULL, quantity INTEGER NOT NULL, added_at TEXT NOT NULL,
      PRIMARY KEY (user_id, product_id));`,
};

function seed(db: Database.Database, groups: ReadonlySet<TableGroup>): void {
  const products = seedProducts();
  if (groups.has("users")) {
    const insert = db.prepare("INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?)");
    for (const u of seedUsers()) insert.run(u.id, u.email, u.name, u.createdAt);
  }
  if (groups.has("catalog")) {
    const product = db.prepare(
      "INSERT INTO products (id, sku, name, category, price_cents, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const stock = db.prepare("INSERT INTO inventory (product_id, quantity, updated_at) VALUES (?, ?, ?)");
    for (const p of products) {
      product.run(p.id, p.sku, p.name, p.category, p.priceCents, p.description, p.createdAt, p.createdAt);
      stock.run(p.id, p.stock, p.createdAt);
    }
  }
  if (groups.has("orders")) {
    const price = new Map(products.map((p) => [p.id, p.priceCents]));
    const order = db.prepare("INSERT INTO orders (id, user_id, status, created_at, updated_at, cancelled_at) VALUES (?, ?, ?, ?, ?, ?)");
    const item = db.prepare("INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES (?, ?, ?, ?)");
    for (const o of seedOrders()) {
      order.run(o.id, o.userId, o.status, o.createdAt, o.createdAt, o.status === "cancelled" ? o.createdAt : null);
      for (const it of o.items) item.run(o.id, it.productId, it.quantity, price.get(it.productId) ?? 0);
    }
  }
}

/**
 * Opens (creating and seeding on first use) a demo SQLite file holding the given table groups.
 * WAL mode, so readers never wait for a writer.
 */
export function openDemoDatabase(path: string, groups: readonly TableGroup[]): Database.Database {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  const wanted = new Set(groups);
  for (const group of wanted) db.exec(DDL[group]);
  const meta = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'seeded'").get();
  if (!meta) {
    db.transaction(() => {
      seed(db, wanted);
      db.exec("CREATE TABLE seeded (at TEXT NOT NULL); INSERT INTO seeded VALUES (datetime('now'));");
    })();
  }
  return db;
}
