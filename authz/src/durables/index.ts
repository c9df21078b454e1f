export * from "./ack.js";
export * from "./config.js";
export * from "./errors.js";
export * from "./manager.js";
export * from "./plan.js";
export * from "./reconcile.js";
export * from "./redrive.js";
