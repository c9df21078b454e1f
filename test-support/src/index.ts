// Helpers shared by the tests of every workspace package. Tests reach this package through the
// root package.json (devDependencies), so no product package depends on it.
// Vitest's global setup (global-setup.ts) is referenced by path from vitest.config.ts.
export * from "./broker.js";
export * from "./callout.js";
export * from "./database.js";
export * from "./inject.js";
export * from "./matrix.js";
export * from "./metrics.js";
export * from "./nats.js";
export * from "./pg-proxy.js";
export * from "./stream.js";
export * from "./webhooks.js";
export * from "./fake-github/index.js";
export * from "./sse.js";
export * from "./openapi.js";
