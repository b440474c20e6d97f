import { pino } from "pino";
import { createRolloutService, type RolloutService } from "../../src/rollout/rollout-service.ts";
import { openDatabase } from "../../src/store/database.ts";
import { makeTempDir } from "./temp-dir.ts";

/** A real rollout service over a real SQLite file in a fresh temp dir. */
export function tempRolloutService(pollMs = 50): { rollouts: RolloutService; dataDir: string; close: () => void } {
  const temp = makeTempDir("strangler-store-");
  const db = openDatabase(temp.dir);
  const rollouts = createRolloutService({ db, logger: pino({ level: "silent" }), pollMs });
  return {
    rollouts,
    dataDir: temp.dir,
    close() {
      rollouts.close();
      db.close();
      temp.remove();
    },
  };
}
