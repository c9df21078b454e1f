import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/.git/**", "**/.data/**", "**/dist/**"],
    // One nats-server and one PostgreSQL for the whole run; see gateway/test/global-setup.ts.
    globalSetup: ["./gateway/test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
