import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCatalog } from "../../extracted-services/catalog/src/app.ts";
import { startOrders } from "../../extracted-services/orders/src/app.ts";
import type { RunningDemoApp } from "../../demo-data/start-demo-app.ts";
import { startMonolith } from "../../legacy-monolith/src/app.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/wait.ts";

/**
 * The demo's data ownership: the monolith owns the writes; the services follow its tables (change-feed.ts),
 * so an order placed through the monolith reaches the orders service and the stock it took reaches the
 * catalog, and shadowed reads of them agree again.
 */
describe("the services follow the monolith's data", () => {
  const temp = makeTempDir();
  let monolith: RunningDemoApp;
  let orders: RunningDemoApp;
  let catalog: RunningDemoApp;
  beforeAll(async () => {
    const options = { dataDir: temp.dir, port: 0 };
    monolith = await startMonolith(options);
    [orders, catalog] = await Promise.all([startOrders({ ...options, followMonolith: true }), startCatalog({ ...options, followMonolith: true })]);
  });
  afterAll(async () => {
    await Promise.all([monolith?.close(), orders?.close(), catalog?.close()]);
    temp.remove();
  });
  const json = async (url: string, init?: RequestInit) => {
    const res = await fetch(url, init);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("an order placed and cancelled through the monolith reaches the orders service, and the stock it took the catalog", async () => {
    const before = (await json(`${monolith.url}/api/inventory/p_002`)).body.available as number;
    const placed = await json(`${monolith.url}/api/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ userId: "u_001", items: [{ productId: "p_002", quantity: 2 }] }) });
    expect(placed.status).toBe(201);
    const id = placed.body.id as string;
    const inService = await until(() => json(`${orders.url}/api/orders/${id}`), (r) => r.status === 200, 5_000, 50);
    expect(inService.status).toBe(200);
    expect(inService.body).toMatchObject({ id, userId: "u_001", status: "placed", items: [{ productId: "p_002", quantity: 2 }] });
    const stock = await until(() => json(`${catalog.url}/api/inventory/p_002`), (r) => r.body.available === before - 2, 5_000, 50);
    expect(stock.body.available).toBe(before - 2);
    // The orders service's own copy of the stock (it takes stock when it places orders itself).
    expect(orders.db.prepare("SELECT quantity FROM inventory WHERE product_id = 'p_002'").get()).toEqual({ quantity: before - 2 });

    expect((await json(`${monolith.url}/api/orders/${id}/cancel`, { method: "POST" })).status).toBe(200);
    const cancelled = await until(() => json(`${orders.url}/api/orders/${id}`), (r) => r.body.status === "cancelled", 5_000, 50);
    expect(cancelled.body.status).toBe("cancelled");
  });
});
