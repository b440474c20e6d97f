import { startTempPostgres, type TempPostgres } from "../../scripts/temp-postgres.ts";

/** A throwaway PostgreSQL cluster for one test file (see scripts/temp-postgres.ts, which the fleet demo uses too). */
export type TestPostgres = TempPostgres;

export const startTestPostgres = (): Promise<TestPostgres> => startTempPostgres();
