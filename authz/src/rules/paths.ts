/**
 * Who a webhook path belongs to, compared the way no spelling can get around.
 *
 * Ingest matches an endpoint on the exact decoded segments of the path (see subjects.ts). For
 * ownership the comparison is wider on purpose: segments are NFKC-normalized and lower-cased,
 * so `Alice/gh`, `alice/GH` and `ａｌｉｃｅ/gh` all name the same place, and an endpoint that
 * differs from another owner's only by case or width is refused like an exact overlap. Paths
 * arrive here already percent-decoded, with dot segments, empty segments, encoded slashes and
 * trailing slashes refused or stripped by parseWebhookPath, so `%61lice`, `alice/` and
 * `alice/./gh` cannot be used to get around a rule either.
 */

/** First segment of every user's personal namespace: `u/<user name>/...`. */
export const PERSONAL_ROOT = "u";
/** First segment of every organization's namespace: `o/<organization name>/...`. */
export const ORG_ROOT = "o";

/** The comparison form of a path's segments (NFKC, lower case). */
export function pathKey(segments: readonly string[]): string[] {
  return segments.map((s) => s.normalize("NFKC").toLowerCase());
}

/** The comparison form of a stored path (`a/b/c`). */
export function storedPathKey(path: string): string[] {
  return pathKey(path.split("/"));
}

/** True when `outer` is `inner` or one of its ancestors (whole segments). */
export function within(inner: readonly string[], outer: readonly string[]): boolean {
  if (outer.length > inner.length) return false;
  return outer.every((seg, i) => seg === inner[i]);
}

/** True when one of the two contains the other (or they are the same place). */
export function overlaps(a: readonly string[], b: readonly string[]): boolean {
  return within(a, b) || within(b, a);
}

/** Whose namespace a key lies in: a user's (`u/<name>`), an organization's (`o/<name>`), a namespace root itself, or none. */
export type Namespace =
  | { kind: "user"; name: string }
  | { kind: "organization"; name: string }
  | { kind: "root"; root: string }
  | undefined;

export function namespaceOf(key: readonly string[]): Namespace {
  const [first, second] = key;
  if (first !== PERSONAL_ROOT && first !== ORG_ROOT) return undefined;
  if (second === undefined) return { kind: "root", root: first };
  return first === PERSONAL_ROOT ? { kind: "user", name: second } : { kind: "organization", name: second };
}

/** The `/webhook/...` form of a key or path, for messages. */
export function showPath(segments: readonly string[]): string {
  return "/webhook/" + segments.join("/");
}
