/**
 * The inspector's sign-in: the API token entered once in a form is kept in an HttpOnly cookie
 * scoped to /ui (SameSite=Strict, Secure behind https), never readable by page scripts. Forms
 * that change something carry a CSRF token derived from the API token (the page can show it, a
 * cross-site page cannot read it), checked in constant time; a cross-origin `Origin` is refused
 * as well. Pure functions, unit-tested in session.test.ts.
 */
import { createHash, timingSafeEqual } from "node:crypto";

export const COOKIE = "wb_ui";
export const COOKIE_PATH = "/ui";

/** The CSRF token of a signed-in browser: a hash of its API token under a fixed label. */
export function csrfToken(apiToken: string): string {
  return createHash("sha256").update(`webhook-broker ui csrf\0${apiToken}`).digest("base64url");
}

/** True when `sent` is the CSRF token of `apiToken`. */
export function csrfValid(apiToken: string, sent: unknown): boolean {
  if (typeof sent !== "string") return false;
  const want = Buffer.from(csrfToken(apiToken));
  const got = Buffer.from(sent);
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * A state-changing request is same-origin when it has no Origin header or one naming the
 * request's own host (the scheme is not compared: a TLS proxy in front changes it).
 */
export function sameOrigin(origin: string | undefined, requestUrl: string): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === new URL(requestUrl).host;
  } catch {
    return false;
  }
}
