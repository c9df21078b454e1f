import { describe, expect, it } from "vitest";
import { exceedsDepth } from "./json-depth.js";

describe("exceedsDepth", () => {
  it("counts arrays and objects, not brackets inside strings", () => {
    expect(exceedsDepth('{"a":[1,{"b":2}]}', 3)).toBe(false);
    expect(exceedsDepth('{"a":[1,{"b":2}]}', 2)).toBe(true);
    expect(exceedsDepth('{"a":"[[[[[[\\"[[[["}', 1)).toBe(false);
  });

  it("finds a 1000-deep array past a limit of 128", () => {
    expect(exceedsDepth("[".repeat(1000) + "]".repeat(1000), 128)).toBe(true);
    expect(exceedsDepth("[".repeat(128) + "]".repeat(128), 128)).toBe(false);
  });
});
