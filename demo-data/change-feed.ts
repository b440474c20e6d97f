import { existsSync } from "node:fs";
import type Database from "better-sqlite3";
import type { TableGroup } from "./schema.ts";

/**
 * The demo's change feed. In a strangler migration a table has one owner at a time: here the monolith
 * owns every write (order-create stays at 0%), and the services keep their copies in step by following
 * the monolith's tables, as a CDC pipeline (Debezium, AWS DMS, logical replication) does in production.
 * Without it, an order placed through the monolith exists only in the monolith's database, and every
 * shadowed read that includes it (the order list, the stock it took) diverges: a real difference, of data
 * rather than of code.
 *
 * Every `everyMs` the service copies, in one transaction, what changed in the monolith's SQLite file:
 * users; products and stock; orders, their status and their items (by `updated_at`, so a newer row is
 * never overwritten by an older one). One-way: a write a service accepts itself (once a route has moved
 * to it) is not copied back; moving a write route means moving the table's ownership with it.
 */
export function followMonolith(db: Database.Database, monolithFile: string, groups: readonly TableGroup[], everyMs = 500): () => void {
  const statements: string[] = [];
  if (groups.includes("users")) statements.push("INSERT INTO users SELECT * FROM monolith.users WHERE true ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name");
  if (groups.includes("catalog")) {
    statements.push(
      `INSERT INTO products SELECT * FROM monolith.products WHERE true ON CONFLICT (id) DO UPDATE SET sku = excluded.sku, name = excluded.name, category = excluded.category,
         price_cents = excluded.price_cents, currency = excluded.currency, description = excluded.description, updated_at = excluded.updated_at
       WHERE excluded.updated_at > products.updated_at`,
      `INSERT INTO inventory SELECT * FROM monolith.inventory WHERE true ON CONFLICT (product_id) DO UPDATE SET quantity = excluded.quantity, updated_at = excluded.updated_at
       WHERE excluded.updated_at > inventory.updated_at`,
    );
  }
  if (groups.includes("orders")) {
    statements.push(
      `INSERT INTO orders SELECT * FROM monolith.orders WHERE true ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, cancelled_at = excluded.cancelled_at
       WHERE excluded.updated_at > orders.updated_at`,
      "INSERT OR IGNORE INTO order_items SELECT * FROM monolith.order_items",
    );
  }
  let attached = false;
  const tick = () => {
    try {
      if (!attached) {
        // The monolith may still be creating its file: follow once it exists.
        if (!existsSync(monolithFile)) return;
        db.prepare("ATTACH DATABASE ? AS monolith").run(monolithFile);
        attached = true;
      }
      db.transaction(() => {
        for (const sql of statements) db.exec(sql);
      })();
    } catch {
      // The monolith's file busy or mid-creation: the next tick tries again.
    }
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (attached) db.exec("DETACH DATABASE monolith");
  };
}
