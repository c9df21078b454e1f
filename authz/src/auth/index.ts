export * from "./access-token.js";
export * from "./authenticate.js";
export * from "./sessions.js";
export * from "./signing-keys.js";
