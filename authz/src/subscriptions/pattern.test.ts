import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatPattern, matchesPath, parsePattern, patternContains, patternsIntersect, patternWithin, PatternError } from "./pattern.js";

describe("parsePattern", () => {
  it("accepts the seed's form and canonicalizes it", () => {
    expect(parsePattern("/webhook/github/myrepo/*")).toEqual({
      fixed: [{ kind: "literal", value: "github" }, { kind: "literal", value: "myrepo" }, { kind: "star" }],
      globstar: false,
    });
    expect(formatPattern(parsePattern("github/my%20repo/**/"))).toBe("/webhook/github/my%20repo/**");
    expect(parsePattern("a/%2A").fixed[1]).toEqual({ kind: "literal", value: "*" });
    expect(formatPattern(parsePattern("a/%2A"))).toBe("/webhook/a/%2A");
    expect(parsePattern("**")).toEqual({ fixed: [], globstar: true });
  });

  it.each([
    ["", "empty"],
    ["/webhook/", "empty"],
    ["a/**/b", "last segment"],
    ["a/repo-*", "whole segment"],
    ["a//b", "empty"],
    ["a/../b", "empty or dot"],
    ["a/%2F", "encoded slash"],
    ["a/%zz", "percent"],
    ["x/" + "a".repeat(1100), "longer"],
  ])("refuses %j", (text, reason) => {
    expect(() => parsePattern(text)).toThrow(PatternError);
    expect(() => parsePattern(text)).toThrow(new RegExp(reason));
  });
});

describe("matching", () => {
  it("'*' is one segment, '**' zero or more, a trailing '/*' is not a prefix", () => {
    const star = parsePattern("gh/r/*");
    expect(matchesPath(star, ["gh", "r", "x"])).toBe(true);
    expect(matchesPath(star, ["gh", "r"])).toBe(false);
    expect(matchesPath(star, ["gh", "r", "x", "y"])).toBe(false);
    const deep = parsePattern("gh/r/**");
    expect(matchesPath(deep, ["gh", "r"])).toBe(true);
    expect(matchesPath(deep, ["gh", "r", "x", "y"])).toBe(true);
    expect(matchesPath(deep, ["gh", "q"])).toBe(false);
  });

  it("patternWithin needs an endpoint spelled out literally at the start", () => {
    const eps = [["gh", "mine"]];
    expect(patternWithin(parsePattern("gh/mine"), eps)).toBe(true);
    expect(patternWithin(parsePattern("gh/mine/**"), eps)).toBe(true);
    expect(patternWithin(parsePattern("gh/mine/*/deploy"), eps)).toBe(true);
    expect(patternWithin(parsePattern("gh/*"), eps)).toBe(false);
    expect(patternWithin(parsePattern("gh/**"), eps)).toBe(false);
    expect(patternWithin(parsePattern("*/mine"), eps)).toBe(false);
    expect(patternWithin(parsePattern("**"), eps)).toBe(false);
    expect(patternWithin(parsePattern("gh"), eps)).toBe(false);
  });
});

// Brute force over a small universe: every path of up to 4 segments over {a, b, c}.
const ALPHA = ["a", "b", "c"];
const UNIVERSE: string[][] = [[]];
for (let d = 1; d <= 4; d++) for (const p of UNIVERSE.filter((u) => u.length === d - 1)) for (const s of ALPHA) UNIVERSE.push([...p, s]);

export const patternArb = fc
  .record({
    segs: fc.array(fc.oneof(fc.constantFrom(...ALPHA), fc.constant("*")), { maxLength: 3 }),
    globstar: fc.boolean(),
  })
  .filter((r) => r.segs.length > 0 || r.globstar)
  .map((r) => parsePattern([...r.segs, ...(r.globstar ? ["**"] : [])].join("/")));

describe("pattern relations agree with brute force", () => {
  // Paths longer than any fixed part + 1 behave like that length, so depth 4 is exhaustive here.
  it("intersect and contain", () => {
    fc.assert(
      fc.property(patternArb, patternArb, (a, b) => {
        const inA = UNIVERSE.filter((p) => matchesPath(a, p));
        const inB = UNIVERSE.filter((p) => matchesPath(b, p));
        expect(patternsIntersect(a, b)).toBe(inA.some((p) => matchesPath(b, p)));
        expect(patternContains(a, b)).toBe(inB.every((p) => matchesPath(a, p)));
      }),
      { numRuns: 2000 },
    );
  });

  it("within: every matching path lies under an endpoint", () => {
    const epArb = fc.array(fc.array(fc.constantFrom(...ALPHA), { minLength: 1, maxLength: 3 }), { maxLength: 3 });
    fc.assert(
      fc.property(patternArb, epArb, (p, eps) => {
        if (!patternWithin(p, eps)) return;
        for (const path of UNIVERSE.filter((u) => matchesPath(p, u))) {
          expect(eps.some((e) => e.every((s, i) => path[i] === s))).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
