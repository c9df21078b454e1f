/**
 * Relations between NATS subject filters (tokens separated by `.`, `*` one token, `>` one or
 * more trailing tokens), as JetStream sees them.
 */

const tokens = (s: string) => s.split(".");

/** Whether a literal subject matches a filter. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = tokens(filter);
  const s = tokens(subject);
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">") return s.length > i;
    if (i >= s.length || (f[i] !== "*" && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

/** Whether every subject `inner` matches is matched by `outer`. */
export function subjectSubsumes(outer: string, inner: string): boolean {
  const o = tokens(outer);
  const n = tokens(inner);
  for (let i = 0; i < o.length; i++) {
    if (o[i] === ">") return n.length > i;
    if (i >= n.length || n[i] === ">") return false;
    if (o[i] !== "*" && (n[i] === "*" || o[i] !== n[i])) return false;
  }
  return o.length === n.length;
}

/** Whether some subject matches both filters (what JetStream calls overlapping). */
export function subjectsCollide(a: string, b: string): boolean {
  const x = tokens(a);
  const y = tokens(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === ">" || y[i] === ">") return true;
    if (x[i] !== "*" && y[i] !== "*" && x[i] !== y[i]) return false;
  }
  return x.length === y.length;
}

export interface Normalized {
  subjects: string[];
  /** Pairs that overlap without one containing the other; see {@link normalizeSubjects}. */
  conflicts: [string, string][];
}

/**
 * Makes a set of filter subjects acceptable to JetStream without widening it: drops
 * duplicates and subjects another one subsumes. Two filters that overlap partially (neither
 * contains the other) cannot be expressed exactly (NATS subjects have no negation), so the
 * later one in sort order is dropped (narrowing, never widening) and the pair is reported;
 * callers refuse subscriptions that would cause this (see `atomsConflict`).
 */
export function normalizeSubjects(input: readonly string[]): Normalized {
  const unique = [...new Set(input)].sort();
  const kept = unique.filter((s) => !unique.some((o) => o !== s && subjectSubsumes(o, s)));
  const out: string[] = [];
  const conflicts: [string, string][] = [];
  for (const s of kept) {
    const clash = out.find((o) => subjectsCollide(o, s));
    if (clash) conflicts.push([clash, s]);
    else out.push(s);
  }
  return { subjects: out, conflicts };
}
