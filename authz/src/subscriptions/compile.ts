/**
 * Subscriptions → a consumer's filter subjects, intersected with what the user may read.
 *
 * Subjects are `wh.<endpoint token>.<event token>.<path tokens…>` (see ../subjects.ts), and a
 * delivery's path always starts with its endpoint's path. A pattern is therefore compiled per
 * readable endpoint: the endpoint id is a literal token, so no compiled subject can reach
 * another endpoint, and the grant (`wh.<endpoint>.>`) always contains it.
 */
import { encodeToken, endpointGrantSubject, endpointToken, MAX_SUBJECT_BYTES, NOTHING_SUBJECT, SUBJECT_ROOT } from "../subjects.js";
import { matchesPath, patternContains, patternsIntersect, type PathPattern } from "./pattern.js";
import { normalizeSubjects } from "./filter-subjects.js";

/** An endpoint the user may read, with its decoded path segments. */
export interface ReadableEndpoint {
  id: string;
  segments: readonly string[];
}

/** What JetStream needs of one subscription: a path pattern and optional event types. */
export interface SubjectFilter {
  pattern: PathPattern;
  /** Undefined: every event. */
  events?: readonly string[];
}

export interface CompiledFilters {
  subjects: string[];
  /** Partial overlaps that had to be narrowed away; empty when subscriptions were checked. */
  conflicts: [string, string][];
}

/** Subjects of one pattern with one event token (`*` for any) on one endpoint. */
export function compileOnEndpoint(p: PathPattern, eventToken: string, ep: ReadableEndpoint): string[] {
  const head = `${SUBJECT_ROOT}.${endpointToken(ep.id)}`;
  // The whole endpoint, every path below it: written like the grant when every event is wanted.
  const whole = () => [eventToken === "*" ? endpointGrantSubject(ep.id) : `${head}.${eventToken}.>`];
  for (let i = 0; i < ep.segments.length; i++) {
    if (i === p.fixed.length) return p.globstar ? whole() : [];
    const s = p.fixed[i]!;
    if (s.kind === "literal" && s.value !== ep.segments[i]) return [];
  }
  const rest = p.fixed.slice(ep.segments.length);
  if (rest.length === 0 && p.globstar) return whole();
  const base = [head, eventToken, ...ep.segments.map(encodeToken), ...rest.map((s) => (s.kind === "star" ? "*" : encodeToken(s.value)))].join(".");
  // A filter longer than any stored subject matches nothing: leave it out.
  if (Buffer.byteLength(base) > MAX_SUBJECT_BYTES) return [];
  // `>` needs at least one more token, so "zero or more" is the exact subject plus `.>`.
  return p.globstar ? [base, `${base}.>`] : [base];
}

/**
 * The filter subjects for a consumer. No subscriptions: everything readable (the grants).
 * Subscriptions that match nothing readable: {@link NOTHING_SUBJECT}, never "everything".
 */
export function compileFilters(subs: readonly SubjectFilter[], readable: readonly ReadableEndpoint[]): CompiledFilters {
  if (subs.length === 0) {
    return { subjects: readable.length === 0 ? [NOTHING_SUBJECT] : readable.map((e) => endpointGrantSubject(e.id)).sort(), conflicts: [] };
  }
  const all: string[] = [];
  for (const sub of subs) {
    const events = sub.events === undefined ? ["*"] : sub.events.map(encodeToken);
    for (const ep of readable) for (const ev of events) all.push(...compileOnEndpoint(sub.pattern, ev, ep));
  }
  const { subjects, conflicts } = normalizeSubjects(all);
  return { subjects: subjects.length === 0 ? [NOTHING_SUBJECT] : subjects, conflicts };
}

/** Whether a delivery (event, decoded path) is one the subscription asks for. */
export function filterMatches(sub: SubjectFilter, event: string, segments: readonly string[]): boolean {
  return (sub.events === undefined || sub.events.includes(event)) && matchesPath(sub.pattern, segments);
}

type Atom = { pattern: PathPattern; event: string | undefined };
const atoms = (f: SubjectFilter): Atom[] => (f.events === undefined ? [{ pattern: f.pattern, event: undefined }] : f.events.map((event) => ({ pattern: f.pattern, event })));

/**
 * Whether two subscriptions of one consumer overlap partially: some delivery matches both and
 * neither contains the other (per event type). JetStream refuses overlapping filters and
 * subjects cannot express the difference of two filters, so such a pair would have to be
 * widened or narrowed; it is refused instead. Checked on patterns, not on today's endpoints,
 * so an endpoint created later can never make a consumer's subscriptions unrepresentable.
 */
export function filtersConflict(a: SubjectFilter, b: SubjectFilter): boolean {
  return atoms(a).some((x) => atoms(b).some((y) => atomsConflict(x, y)));
}

function atomsConflict(x: Atom, y: Atom): boolean {
  const eventsMeet = x.event === undefined || y.event === undefined || x.event === y.event;
  if (!eventsMeet || !patternsIntersect(x.pattern, y.pattern)) return false;
  const xInY = (y.event === undefined || x.event === y.event) && patternContains(y.pattern, x.pattern);
  const yInX = (x.event === undefined || x.event === y.event) && patternContains(x.pattern, y.pattern);
  return !xInY && !yInX;
}
