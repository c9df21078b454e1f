export * from "./users.js";
export * from "./api-tokens.js";
export * from "./organizations.js";
export * from "./memberships.js";
export * from "./endpoints.js";
export * from "./consumers.js";
export * from "./subscriptions.js";
export * from "./dead-letters.js";
