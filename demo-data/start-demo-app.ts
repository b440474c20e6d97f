import { join } from "node:path";
import type Database from "better-sqlite3";
import type { Hono } from "hono";
import { serveApp, type RunningApp } from "./http.ts";
import { followMonolith } from "./change-feed.ts";
import { openDemoDatabase, type TableGroup } from "./schema.ts";

/** Where a demo app keeps its data and listens. */
export interface DemoAppOptions {
  readonly dataDir: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly host?: string;
  /** A service: keep its copies of the monolith's tables in step with `<dataDir>/monolith.db` (change-feed.ts). */
  readonly followMonolith?: boolean;
}

/** A demo app that is serving, with its open database (closed by `close`). */
export type RunningDemoApp = RunningApp & { readonly db: Database.Database };

/** Opens (seeding on first use) `<dataDir>/<file>` with the given tables and serves the app built over it. */
export async function startDemoApp(
  file: string,
  groups: readonly TableGroup[],
  createApp: (db: Database.Database) => Hono,
  options: DemoAppOptions,
): Promise<RunningDemoApp> {
  const db = openDemoDatabase(join(options.dataDir, file), groups);
  const stopFollowing = options.followMonolith ? followMonolith(db, join(options.dataDir, "monolith.db"), groups) : () => undefined;
  const running = await serveApp(createApp(db), options.port, options.host);
  return {
    ...running,
    db,
    async close() {
      await running.close();
      stopFollowing();
      db.close();
    },
  };
}
