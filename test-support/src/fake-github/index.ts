export * from "./server.js";
export type * from "./shapes.js";
