import { portFromEnv } from "../../demo-data/http.ts";
import { runUntilSignal } from "../../demo-data/run.ts";
import { startMonolith } from "./app.ts";

await runUntilSignal("legacy-monolith", () => startMonolith({ dataDir: process.env.DATA_DIR ?? "data", port: portFromEnv("PORT", 3001) }));
