import { pino } from "pino";
import { createRolloutService, type RolloutService } from "../../src/rollout/rollout-service.ts";
import { openDatabase, watchForeignWrites } from "../../src/store/database.ts";
import { createRolloutRepository } from "../../src/store/rollout-repository.ts";
import { sqliteRolloutStore } from "../../src/store/rollout-store.ts";
import { makeTempDir } from "./temp-dir.ts";

/** A real rollout service over a real SQLite file in a fresh temp dir. */
export async function tempRolloutService(pollMs = 50): Promise<{ rollouts: RolloutService; dataDir: string; close: () => void }> {
  const temp = makeTempDir("strangler-store-");
  const db = openDatabase(temp.dir);
  const rollouts = await createRolloutService({ store: sqliteRolloutStore(createRolloutRepository(db)), logger: pino({ level: "silent" }), watch: (onChange) => watchForeignWrites(db, onChange, pollMs) });
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
