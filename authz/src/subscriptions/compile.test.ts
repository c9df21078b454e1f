import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deliverySubject, endpointGrantSubject, endpointToken, NOTHING_SUBJECT } from "../subjects.js";
import { compileFilters, filterMatches, filtersConflict, type ReadableEndpoint, type SubjectFilter } from "./compile.js";
import { subjectMatches, subjectsCollide, subjectSubsumes } from "./filter-subjects.js";
import { parsePattern } from "./pattern.js";

const E1 = "11111111-1111-4111-8111-111111111111";
const E2 = "22222222-2222-4222-8222-222222222222";
const t1 = endpointToken(E1);
const sub = (pattern: string, events?: string[]): SubjectFilter => ({ pattern: parsePattern(pattern), events });

describe("compileFilters", () => {
  const eps: ReadableEndpoint[] = [
    { id: E1, segments: ["github", "myrepo"] },
    { id: E2, segments: ["github", "other"] },
  ];

  it("no subscription: everything readable; nothing readable: the nothing subject", () => {
    expect(compileFilters([], eps).subjects).toEqual([endpointGrantSubject(E1), endpointGrantSubject(E2)].sort());
    expect(compileFilters([], []).subjects).toEqual([NOTHING_SUBJECT]);
    expect(compileFilters([sub("github/myrepo/**")], []).subjects).toEqual([NOTHING_SUBJECT]);
  });

  it("the seed's example: one segment below myrepo, two events", () => {
    expect(compileFilters([sub("/webhook/github/myrepo/*", ["push", "pull_request"])], eps).subjects).toEqual([
      `wh.${t1}.pull_request.github.myrepo.*`,
      `wh.${t1}.push.github.myrepo.*`,
    ]);
  });

  it("'**' below an endpoint is the whole endpoint; at a deeper level it is the exact path plus '.>'", () => {
    expect(compileFilters([sub("github/myrepo/**")], eps).subjects).toEqual([endpointGrantSubject(E1)]);
    expect(compileFilters([sub("github/myrepo/**", ["push"])], eps).subjects).toEqual([`wh.${t1}.push.>`]);
    expect(compileFilters([sub("github/myrepo/ci/**", ["push"])], eps).subjects).toEqual([
      `wh.${t1}.push.github.myrepo.ci`,
      `wh.${t1}.push.github.myrepo.ci.>`,
    ]);
  });

  it("a pattern shorter than an endpoint's path matches none of its deliveries", () => {
    expect(compileFilters([sub("github")], eps).subjects).toEqual([NOTHING_SUBJECT]);
    // `github/*` is as long as the endpoints' paths: it matches deliveries to their roots only.
    expect(compileFilters([sub("github/*")], eps).subjects).toEqual([`wh.${endpointToken(E2)}.*.github.other`, `wh.${t1}.*.github.myrepo`].sort());
    expect(compileFilters([sub("github/*/**")], eps).subjects).toEqual([endpointGrantSubject(E1), endpointGrantSubject(E2)].sort());
  });

  it("drops subsumed subjects", () => {
    const { subjects, conflicts } = compileFilters([sub("github/myrepo/**"), sub("github/myrepo/x", ["push"])], eps);
    expect(subjects).toEqual([endpointGrantSubject(E1)]);
    expect(conflicts).toEqual([]);
  });

  it("encodes event types and literal segments as tokens", () => {
    expect(compileFilters([sub("github/myrepo/a%20b", ["issue.opened"])], eps).subjects).toEqual([`wh.${t1}.issue~2Eopened.github.myrepo.a~20b`]);
  });

  it("flags partial overlaps of subscriptions", () => {
    expect(filtersConflict(sub("github/myrepo/**", ["push"]), sub("github/myrepo/x"))).toBe(true);
    expect(filtersConflict(sub("github/myrepo/**"), sub("github/myrepo/x", ["push"]))).toBe(false);
    expect(filtersConflict(sub("github/myrepo/**", ["push", "pr"]), sub("github/other/**"))).toBe(false);
    expect(filtersConflict(sub("a/**", ["push", "pr"]), sub("a/x/**", ["push"]))).toBe(false);
    expect(filtersConflict(sub("a/*/x"), sub("a/y/*"))).toBe(true);
  });
});

// Property: random endpoints (paths over a tiny alphabet, so collisions are frequent), random
// grants, random subscriptions without partial overlaps, random deliveries.
const ALPHA = ["a", "b", "c"];
const IDS = [E1, E2, "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"];
const EVENTS = ["push", "pr"];
const segArb = fc.constantFrom(...ALPHA);
const patternArb = fc
  .record({ segs: fc.array(fc.oneof(segArb, fc.constant("*")), { maxLength: 4 }), globstar: fc.boolean() })
  .filter((r) => r.segs.length > 0 || r.globstar)
  .map((r) => [...r.segs, ...(r.globstar ? ["**"] : [])].join("/"));
const subArb = fc.record({
  pattern: patternArb,
  events: fc.option(fc.uniqueArray(fc.constantFrom(...EVENTS), { minLength: 1 }), { nil: undefined }),
});
const worldArb = fc.record({
  endpoints: fc.uniqueArray(fc.array(segArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: IDS.length, selector: (p) => p.join("/") }),
  readable: fc.array(fc.boolean(), { minLength: IDS.length, maxLength: IDS.length }),
  subs: fc.array(subArb, { maxLength: 4 }),
  deliveries: fc.array(
    fc.record({ ep: fc.nat(IDS.length - 1), event: fc.constantFrom(...EVENTS, "other"), extra: fc.array(segArb, { maxLength: 3 }) }),
    { minLength: 1, maxLength: 30 },
  ),
});

describe("compileFilters properties", () => {
  it("never widens (subjects ⊆ grants; every match is readable and subscribed), never loses, never overlaps", () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const all = w.endpoints.map((segments, i) => ({ id: IDS[i]!, segments }));
        const readable = all.filter((_, i) => w.readable[i]);
        // Subscriptions of one consumer are refused when they overlap partially.
        const subs: SubjectFilter[] = [];
        for (const s of w.subs.map((x) => sub(x.pattern, x.events))) if (!subs.some((o) => filtersConflict(o, s))) subs.push(s);

        const { subjects, conflicts } = compileFilters(subs, readable);
        expect(conflicts).toEqual([]);
        const grants = readable.length ? readable.map((e) => endpointGrantSubject(e.id)) : [NOTHING_SUBJECT];
        for (const s of subjects) if (s !== NOTHING_SUBJECT) expect(grants.some((g) => subjectSubsumes(g, s))).toBe(true);
        for (let i = 0; i < subjects.length; i++) for (let j = i + 1; j < subjects.length; j++) expect(subjectsCollide(subjects[i]!, subjects[j]!)).toBe(false);

        for (const d of w.deliveries) {
          const ep = all[d.ep % all.length]!;
          const path = [...ep.segments, ...d.extra];
          const subject = deliverySubject(ep.id, d.event, path);
          const mayRead = readable.some((r) => r.id === ep.id);
          const wanted = subs.length === 0 || subs.some((s) => filterMatches(s, d.event, path));
          expect(subjects.some((f) => subjectMatches(f, subject))).toBe(mayRead && wanted);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
