import { randomUUID } from "node:crypto";
import pg from "pg";
import { openDatabase } from "../../src/store/database.ts";
import { createMigrationRepository } from "../../src/store/migration-repository.ts";
import { sqliteMigrationStore, type MigrationStore } from "../../src/store/migration-store.ts";
import { createPostgresMigrationStore } from "../../src/store/postgres/migration-store.ts";
import { migratePostgres } from "../../src/store/postgres/migrations.ts";
import { createPostgresRolloutStore } from "../../src/store/postgres/rollout-store.ts";
import { createRolloutRepository } from "../../src/store/rollout-repository.ts";
import { sqliteRolloutStore, type RolloutStore } from "../../src/store/rollout-store.ts";
import { createPostgresShadowStore } from "../../src/store/postgres/shadow-store.ts";
import { createShadowRepository } from "../../src/store/shadow-repository.ts";
import { sqliteShadowStore, type ShadowStore } from "../../src/store/shadow-store.ts";
import { createSqliteFleetStore, type FleetStore } from "../../src/store/fleet-store.ts";
import { createPostgresFleetStore } from "../../src/store/postgres/fleet-store.ts";
import { createSqliteEvidenceStore, type EvidenceStore } from "../../src/store/evidence-store.ts";
import { createPostgresEvidenceStore } from "../../src/store/postgres/evidence-store.ts";
import type { TestPostgres } from "./postgres.ts";
import { makeTempDir } from "./temp-dir.ts";

/** What one process (or node) of the proxy holds of a store. */
export interface StoreNode {
  readonly rollouts: RolloutStore;
  readonly migrations: MigrationStore;
  readonly shadows: ShadowStore;
  readonly fleet: FleetStore;
  readonly evidence: EvidenceStore;
}

/** A fresh database of one kind; `node()` opens another connection to it, as another process or node would. */
export interface StoreUnderTest {
  node(): Promise<StoreNode>;
  close(): Promise<void>;
}

/** The stores the contract suites run against: the embedded SQLite file, and PostgreSQL on `postgres()`'s cluster. */
export function storeKinds(postgres: () => TestPostgres): Array<[string, () => Promise<StoreUnderTest>]> {
  return [
    [
      "SQLite",
      async () => {
        const temp = makeTempDir();
        const dbs: Array<ReturnType<typeof openDatabase>> = [];
        return {
          async node() {
            const db = openDatabase(temp.dir);
            dbs.push(db);
            const rollouts = createRolloutRepository(db);
            return {
              rollouts: sqliteRolloutStore(rollouts),
              migrations: sqliteMigrationStore(createMigrationRepository(db, (e) => rollouts.appendAudit(e))),
              shadows: sqliteShadowStore(createShadowRepository(db)),
              fleet: createSqliteFleetStore(db),
              evidence: createSqliteEvidenceStore(db),
            };
          },
          async close() {
            for (const db of dbs) db.close();
            temp.remove();
          },
        };
      },
    ],
    [
      "PostgreSQL",
      async () => {
        const url = await postgres().createDatabase(`t_${randomUUID().replace(/-/g, "")}`);
        const pools: pg.Pool[] = [];
        return {
          async node() {
            const pool = new pg.Pool({ connectionString: url, max: 4 });
            pools.push(pool);
            await migratePostgres(pool);
            return { rollouts: createPostgresRolloutStore(pool), migrations: createPostgresMigrationStore(pool), shadows: createPostgresShadowStore(pool), fleet: createPostgresFleetStore(pool), evidence: createPostgresEvidenceStore(pool) };
          },
          async close() {
            await Promise.all(pools.map((p) => p.end()));
          },
        };
      },
    ],
  ];
}

/** Runs `test` on a fresh store of one kind, closed afterwards whatever happens. */
export const withStore = (open: () => Promise<StoreUnderTest>, test: (s: StoreUnderTest) => Promise<void>) => async () => {
  const s = await open();
  try {
    await test(s);
  } finally {
    await s.close();
  }
};
