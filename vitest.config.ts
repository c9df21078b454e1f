import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/.git/**", "**/.data/**", "**/dist/**"],
    // One nats-server and one PostgreSQL for the whole run; see test-support/src/global-setup.ts.
    globalSetup: ["./test-support/src/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
