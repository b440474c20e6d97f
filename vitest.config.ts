import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // e2e files start real servers and child processes: 2 cores, so keep the parallelism modest.
    maxWorkers: 2,
    pool: "forks",
  },
});
