export * from "./compile.js";
export * from "./pattern.js";
export * from "./payload.js";
export * from "./filter-subjects.js";
export * from "./filters.js";
export * from "./store.js";
