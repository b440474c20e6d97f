import { defineConfig } from "vitest/config";

/**
 * The suite Stryker runs for each mutant (`npm run mutate`): the unit tests of the pure cores, which
 * need no servers, so each mutant costs milliseconds and no port or process can leak between them.
 */
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    pool: "threads",
  },
});
