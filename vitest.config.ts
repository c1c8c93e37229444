import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests start real servers and child processes; fsync-heavy ones need headroom on a shared 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // One PostgreSQL server for the run (or HEXCLAVE_TEST_DATABASE_URL); see docs/testing.md.
    globalSetup: ["test/support/postgres-global-setup.ts"],
  },
});
