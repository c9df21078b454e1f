import { describe, expect, it } from "vitest";
import { payloadFilterSchema, payloadMatches, readPath } from "./payload.js";

const pr = { action: "opened", number: 7, draft: false, pull_request: { base: { ref: "main" }, labels: [{ name: "bug" }] }, ref: null };

describe("payload filters", () => {
  it("equality and one-of on dotted paths, all conditions at once", () => {
    expect(payloadMatches({ action: ["opened", "closed"] }, pr)).toBe(true);
    expect(payloadMatches({ action: "closed" }, pr)).toBe(false);
    expect(payloadMatches({ "pull_request.base.ref": "main", number: 7 }, pr)).toBe(true);
    expect(payloadMatches({ "pull_request.base.ref": "main", number: 8 }, pr)).toBe(false);
    expect(payloadMatches({ "pull_request.labels.0.name": "bug" }, pr)).toBe(true);
    expect(payloadMatches({ draft: false }, pr)).toBe(true);
    expect(payloadMatches({ ref: null }, pr)).toBe(true);
  });

  it("is strict: missing paths, objects, other types and non-objects never match", () => {
    expect(payloadMatches({ missing: null }, pr)).toBe(false);
    expect(payloadMatches({ number: "7" }, pr)).toBe(false);
    expect(payloadMatches({ pull_request: "x" }, pr)).toBe(false);
    expect(payloadMatches({ "labels.x": "bug" }, { labels: ["bug"] })).toBe(false);
    expect(payloadMatches({ "constructor": "x" }, {})).toBe(false);
    expect(readPath({ a: [1, 2] }, "a.01")).toBeUndefined();
    expect(payloadMatches({ a: 1 }, "text")).toBe(false);
  });

  it("validates the filter language", () => {
    expect(payloadFilterSchema.safeParse({ ref: "refs/heads/main", action: ["opened"] }).success).toBe(true);
    for (const bad of [{}, { "a..b": 1 }, { a: [] }, { a: { b: 1 } }, { a: [[1]] }, { "": 1 }]) {
      expect(payloadFilterSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
