import { join } from "node:path";
import { pino } from "pino";
import type { StranglerConfigInput } from "../../src/config/schema.ts";
import type { Clock } from "../../src/guard/clock.ts";
import { startStrangler, type Strangler } from "../../src/strangler.ts";
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

/**
 * The shipped routes.config.ts in this process over `demo`, as the README's commands use it: the
 * backends' URLs through the environment the config reads (restored by `close`), no file watching, the
 * judge only when the test ticks it, on `clock`, logs off.
 */
export async function startShippedProxy(demo: DemoBackends, clock: Clock): Promise<{ proxy: Strangler; close(): Promise<void> }> {
  const saved = { ...process.env };
  process.env.LEGACY_URL = demo.monolith.url;
  process.env.CATALOG_URL = demo.catalog.url;
  process.env.ORDERS_URL = demo.orders.url;
  const proxy = await startStrangler({
    configPath: join(process.cwd(), "routes.config.ts"),
    port: 0,
    host: "127.0.0.1",
    adminPort: 0,
    dataDir: join(demo.dataDir, "proxy"),
    watch: false,
    guardTimer: false,
    clock,
    logger: pino({ level: "silent" }),
  });
  return {
    proxy,
    async close() {
      await proxy.close();
      process.env = saved;
    },
  };
}
