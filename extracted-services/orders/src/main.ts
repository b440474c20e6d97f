import { portFromEnv } from "../../../demo-data/http.ts";
import { runUntilSignal } from "../../../demo-data/run.ts";
import { startOrders } from "./app.ts";

await runUntilSignal("orders", () => startOrders({ dataDir: process.env.DATA_DIR ?? "data", port: portFromEnv("PORT", 3003), followMonolith: process.env.FOLLOW_MONOLITH !== "0" }));
