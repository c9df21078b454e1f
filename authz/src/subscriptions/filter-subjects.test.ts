import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeSubjects, subjectMatches, subjectsCollide, subjectSubsumes } from "./filter-subjects.js";

const TOK = ["a", "b"];
const SUBJECTS: string[] = [];
for (let n = 1; n <= 4; n++) {
  const walk = (prefix: string[]) => {
    if (prefix.length === n) return void SUBJECTS.push(prefix.join("."));
    for (const t of TOK) walk([...prefix, t]);
  };
  walk([]);
}
const filterArb = fc
  .record({ toks: fc.array(fc.constantFrom("a", "b", "*"), { minLength: 1, maxLength: 3 }), tail: fc.boolean() })
  .map((r) => [...r.toks, ...(r.tail ? [">"] : [])].join("."));

describe("filter subject relations", () => {
  it("match examples", () => {
    expect(subjectMatches("wh.e.>", "wh.e.push.a")).toBe(true);
    expect(subjectMatches("wh.e.push.a.>", "wh.e.push.a")).toBe(false);
    expect(subjectMatches("wh.e.*.a", "wh.e.push.a")).toBe(true);
    expect(subjectsCollide("wh.e.push.a.*", "wh.e.*.a.b")).toBe(true);
    expect(subjectSubsumes("wh.e.push.a.*", "wh.e.*.a.b")).toBe(false);
    expect(subjectsCollide("wh.e.*.a", "wh.e.*.a.>")).toBe(false);
  });

  it("agree with brute force over subjects of up to 4 tokens", () => {
    fc.assert(
      fc.property(filterArb, filterArb, (x, y) => {
        const inX = SUBJECTS.filter((s) => subjectMatches(x, s));
        const inY = SUBJECTS.filter((s) => subjectMatches(y, s));
        expect(subjectsCollide(x, y)).toBe(inX.some((s) => subjectMatches(y, s)));
        // Depth 4 stands for "deeper" only when the filters are shorter than 4 tokens.
        expect(subjectSubsumes(x, y)).toBe(inY.every((s) => subjectMatches(x, s)));
      }),
      { numRuns: 3000 },
    );
  });

  it("normalization never widens, leaves no overlap, and loses nothing when there is no partial overlap", () => {
    fc.assert(
      fc.property(fc.array(filterArb, { maxLength: 6 }), (input) => {
        const { subjects, conflicts } = normalizeSubjects(input);
        for (let i = 0; i < subjects.length; i++) for (let j = i + 1; j < subjects.length; j++) expect(subjectsCollide(subjects[i]!, subjects[j]!)).toBe(false);
        for (const s of SUBJECTS) {
          const before = input.some((f) => subjectMatches(f, s));
          const after = subjects.some((f) => subjectMatches(f, s));
          if (after) expect(before).toBe(true);
          if (conflicts.length === 0) expect(after).toBe(before);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
