/** The broker's access rules as pure functions (see each file); routes and CLI call these. */
export * from "./access.js";
export * from "./limits.js";
export * from "./ownership.js";
export * from "./paths.js";
export * from "./github.js";
