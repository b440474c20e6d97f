import { portFromEnv } from "../../../demo-data/http.ts";
import { runUntilSignal } from "../../../demo-data/run.ts";
import { startCatalog } from "./app.ts";

await runUntilSignal("catalog", () => startCatalog({ dataDir: process.env.DATA_DIR ?? "data", port: portFromEnv("PORT", 3002), followMonolith: process.env.FOLLOW_MONOLITH !== "0" }));
