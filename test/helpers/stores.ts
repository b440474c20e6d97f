import { randomUUID } from "node:crypto";
import { openStores, type Stores } from "../../src/store/open-stores.ts";
import type { TestPostgres } from "./postgres.ts";
import { makeTempDir } from "./temp-dir.ts";

/** What one process (or node) of the proxy holds of a store: the proxy's own composition (`openStores`). */
export type StoreNode = Stores;

/** A fresh database of one kind; `node()` opens another connection to it, as another process or node would. */
export interface StoreUnderTest {
  node(): Promise<StoreNode>;
  /** What the nodes wrote, folded as the judge folds it (PostgreSQL's inbox); nothing to do on SQLite. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** A fresh database (a temp dir, or a new database on the cluster) shared by the nodes opened on it. */
function storeOn(options: () => Promise<{ dataDir: string; databaseUrl?: string; outboxMs?: number; remove?: () => void }>): () => Promise<StoreUnderTest> {
  return async () => {
    const where = await options();
    const opened: Stores[] = [];
    return {
      async node() {
        const stores = await openStores(where);
        opened.push(stores);
        return stores;
      },
      async settle() {
        await opened[0]?.fold();
      },
      async close() {
        await Promise.all(opened.map((s) => s.close()));
        where.remove?.();
      },
    };
  };
}

/** The stores the contract suites run against: the embedded SQLite file, and PostgreSQL on `postgres()`'s cluster. */
export function storeKinds(postgres: () => TestPostgres): Array<[string, () => Promise<StoreUnderTest>]> {
  return [
    [
      "SQLite",
      storeOn(async () => {
        const temp = makeTempDir();
        return { dataDir: temp.dir, remove: temp.remove };
      }),
    ],
    ["PostgreSQL", storeOn(async () => ({ dataDir: "unused", databaseUrl: await postgres().createDatabase(`t_${randomUUID().replace(/-/g, "")}`), outboxMs: 10 }))],
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

/** Opens stores on SQLite files in fresh temp dirs, as one proxy would; `closeAll` closes and removes them. */
export function tempSqliteStores(): { open(): Promise<Stores>; closeAll(): Promise<void> } {
  const opened: Array<{ stores: Stores; remove: () => void }> = [];
  return {
    async open() {
      const temp = makeTempDir();
      const stores = await openStores({ dataDir: temp.dir });
      opened.push({ stores, remove: temp.remove });
      return stores;
    },
    async closeAll() {
      for (const { stores, remove } of opened.splice(0)) {
        await stores.close();
        remove();
      }
    },
  };
}
