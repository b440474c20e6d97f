import type { StranglerConfigInput } from "../../src/config/schema.ts";
import { startMonolith } from "../../legacy-monolith/src/app.ts";
import { startCatalog } from "../../extracted-services/catalog/src/app.ts";
import { startOrders } from "../../extracted-services/orders/src/app.ts";
import type { RunningDemoApp } from "../../demo-data/start-demo-app.ts";
import { makeTempDir } from "./temp-dir.ts";

/** The demo monolith and both services, on free ports, over SQLite files in a temp dir of their own. */
export interface DemoBackends {
  readonly dataDir: string;
  readonly monolith: RunningDemoApp;
  readonly catalog: RunningDemoApp;
  readonly orders: RunningDemoApp;
  /** The `backends` section of a config pointing at them. */
  readonly backends: StranglerConfigInput["backends"];
  close(): Promise<void>;
}

export async function startDemoBackends(): Promise<DemoBackends> {
  const temp = makeTempDir("strangler-demo-");
  const options = { dataDir: temp.dir, port: 0 };
  const [monolith, catalog, orders] = await Promise.all([startMonolith(options), startCatalog(options), startOrders(options)]);
  return {
    dataDir: temp.dir,
    monolith,
    catalog,
    orders,
    backends: { legacy: { url: monolith.url }, catalog: { url: catalog.url }, orders: { url: orders.url } },
    async close() {
      await Promise.all([monolith.close(), catalog.close(), orders.close()]);
      temp.remove();
    },
  };
}
