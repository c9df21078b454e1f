import { describe, expect, it } from "vitest";
import { parseQueryFilter, passes } from "./query-filter.js";

const ep = "7107ca7a-7dd9-4e5f-8724-d186f231b17b";
const m = { source: "github", event: "push", endpointId: ep, segments: ["github", "myrepo"] };

describe("parseQueryFilter / passes", () => {
  it("is undefined without filters", () => {
    expect(parseQueryFilter({})).toBeUndefined();
  });

  it("ORs the values of one filter and ANDs the filters", () => {
    const f = parseQueryFilter({ source: "github", event: "push,pull_request" })!;
    expect(passes(f, m)).toBe(true);
    expect(passes(f, { ...m, event: "pull_request" })).toBe(true);
    expect(passes(f, { ...m, event: "issues" })).toBe(false);
    expect(passes(f, { ...m, source: "stripe" })).toBe(false);
  });

  it("matches endpoint ids in any case, and paths as subscriptions do", () => {
    expect(passes(parseQueryFilter({ endpoint_id: ep.toUpperCase() })!, m)).toBe(true);
    expect(passes(parseQueryFilter({ endpoint_id: "00000000-0000-0000-0000-000000000000" })!, m)).toBe(false);
    expect(passes(parseQueryFilter({ path: "/webhook/github/*" })!, m)).toBe(true);
    expect(passes(parseQueryFilter({ path: "/webhook/github/**" })!, { ...m, segments: ["github", "a", "b"] })).toBe(true);
    expect(passes(parseQueryFilter({ path: "/webhook/github/*" })!, { ...m, segments: ["github", "a", "b"] })).toBe(false);
    expect(passes(parseQueryFilter({ path: "gitlab/**" })!, m)).toBe(false);
  });

  it("refuses bad input with a clear 400", () => {
    for (const q of [{ event: "," }, { endpoint_id: "nope" }, { path: "a/**/b" }, { path: "" }, { source: Array(51).fill("x").join(",") }]) {
      expect(() => parseQueryFilter(q), JSON.stringify(q).slice(0, 60)).toThrow(expect.objectContaining({ code: "invalid_request" }));
    }
  });
});
