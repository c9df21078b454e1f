export * from "./server.js";
export type * from "./shapes.js";
export * from "./browser.js";
