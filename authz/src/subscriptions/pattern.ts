/**
 * Webhook path patterns of subscriptions: `/webhook/github/myrepo/*`.
 *
 * - a literal segment matches itself (percent-decoded, so `%2A` is a literal `*`);
 * - `*` matches exactly one segment (a trailing `/*` is NOT a prefix: use `/**`);
 * - `**` matches zero or more segments and may only be the last segment (NATS `>` can only be
 *   last, so anything else could not be enforced by JetStream);
 * - partial wildcards (`repo-*`) are refused for the same reason.
 */
import { SubjectError, parseWebhookPath } from "../subjects.js";

export type Segment = { kind: "literal"; value: string } | { kind: "star" };

export interface PathPattern {
  /** The segments before an optional trailing `**`. */
  fixed: Segment[];
  /** True when the pattern ends with `**` (zero or more further segments). */
  globstar: boolean;
}

export class PatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PatternError";
  }
}

/** Longest pattern accepted (a longer one could not fit in a subject anyway). */
export const MAX_PATTERN_LENGTH = 1024;

/** Parses `/webhook/a/*\/b/**`, `a/*\/b/**` or `/a/...`; throws {@link PatternError}. */
export function parsePattern(text: string): PathPattern {
  if (text.length > MAX_PATTERN_LENGTH) throw new PatternError(`the pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  const body = text.replace(/^\/*(webhook(\/|$))?/, "").replace(/\/+$/, "");
  if (body === "") throw new PatternError("the pattern is empty: name at least one path segment, e.g. /webhook/github/myrepo/**");
  const raw = body.split("/");
  const fixed: Segment[] = [];
  let globstar = false;
  raw.forEach((seg, i) => {
    if (seg === "**") {
      if (i !== raw.length - 1) throw new PatternError("'**' may only be the last segment of a pattern");
      globstar = true;
    } else if (seg === "*") {
      fixed.push({ kind: "star" });
    } else if (seg.includes("*")) {
      throw new PatternError(`'*' must be a whole segment (got ${JSON.stringify(seg)}); write %2A for a literal '*'`);
    } else {
      try {
        const [value] = parseWebhookPath(seg);
        fixed.push({ kind: "literal", value: value! });
      } catch (err) {
        if (err instanceof SubjectError) throw new PatternError(`pattern segment ${JSON.stringify(seg)}: ${err.message}`);
        throw err;
      }
    }
  });
  return { fixed, globstar };
}

/** Canonical text form, as stored and shown: `/webhook/` + segments. */
export function formatPattern(p: PathPattern): string {
  const segs = p.fixed.map((s) => (s.kind === "star" ? "*" : encodeURIComponent(s.value).replace(/\*/g, "%2A")));
  if (p.globstar) segs.push("**");
  return "/webhook/" + segs.join("/");
}

/** Whether a decoded path (segments) matches the pattern. */
export function matchesPath(p: PathPattern, segments: readonly string[]): boolean {
  if (p.globstar ? segments.length < p.fixed.length : segments.length !== p.fixed.length) return false;
  return p.fixed.every((s, i) => s.kind === "star" || s.value === segments[i]);
}

function segmentsMeet(a: Segment, b: Segment): boolean {
  return a.kind === "star" || b.kind === "star" || a.value === b.value;
}

/** Whether some path matches both patterns. */
export function patternsIntersect(a: PathPattern, b: PathPattern): boolean {
  const n = Math.min(a.fixed.length, b.fixed.length);
  for (let i = 0; i < n; i++) if (!segmentsMeet(a.fixed[i]!, b.fixed[i]!)) return false;
  if (a.fixed.length === b.fixed.length) return true;
  // The longer fixed part must be absorbed by the shorter one's `**`.
  return a.fixed.length < b.fixed.length ? a.globstar : b.globstar;
}

/** Whether every path matching `inner` matches `outer`. */
export function patternContains(outer: PathPattern, inner: PathPattern): boolean {
  if (outer.globstar) {
    if (inner.fixed.length < outer.fixed.length) return false;
  } else if (inner.globstar || inner.fixed.length !== outer.fixed.length) {
    return false;
  }
  return outer.fixed.every((s, i) => {
    const t = inner.fixed[i]!;
    return s.kind === "star" || (t.kind === "literal" && t.value === s.value);
  });
}

/**
 * Whether every path the pattern can match lies under one of the given endpoint paths (each a
 * list of decoded segments). A `*` can take infinitely many values, so only one endpoint whose
 * whole path is spelled out literally at the start of the pattern can cover it.
 */
export function patternWithin(p: PathPattern, endpointPaths: readonly (readonly string[])[]): boolean {
  return endpointPaths.some(
    (path) =>
      path.length > 0 &&
      path.length <= p.fixed.length &&
      path.every((seg, i) => {
        const s = p.fixed[i]!;
        return s.kind === "literal" && s.value === seg;
      }),
  );
}
