/**
 * The inspector's sign-in. With an API token: the token entered once in a form is kept in an
 * HttpOnly cookie scoped to /ui (SameSite=Strict, Secure behind https), never readable by page
 * scripts. With GitHub: the session's access token goes in the same cookie, and its refresh
 * token, with a random key for the CSRF token, in a second one (`wb_ui_session`, same flags), so
 * the inspector can refresh the access token when it expires. Forms that change something carry
 * a CSRF token derived from the API token or that key (the page can show it, a cross-site page
 * cannot read it), checked in constant time; a cross-origin `Origin` is refused as well. Pure
 * functions, unit-tested in session.test.ts.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";

export const COOKIE = "wb_ui";
export const SESSION_COOKIE = "wb_ui_session";
export const COOKIE_PATH = "/ui";

/** The CSRF token of a signed-in browser: a hash of its API token (or session key) under a fixed label. */
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

/** A GitHub sign-in's second cookie: the CSRF key (fixed for the sign-in) and the current refresh token. */
export interface UiSession {
  key: string;
  refresh: string;
}

export function newSessionKey(): string {
  return randomBytes(24).toString("base64url");
}

export function formatSession(s: UiSession): string {
  return `${s.key}.${s.refresh}`;
}

export function parseSession(value: string | undefined): UiSession | undefined {
  const m = /^([A-Za-z0-9_-]{32})\.(whr_[A-Za-z0-9_.-]{1,250})$/.exec(value ?? "");
  return m ? { key: m[1]!, refresh: m[2]! } : undefined;
}

const flags = (secure: boolean) => ({ path: COOKIE_PATH, httpOnly: true, sameSite: "Strict" as const, secure });

/** Signs the browser in (for the browser session): the bearer the inspector sends, and for a GitHub session its refresh state. */
export function setUiCookies(c: Context, bearer: string, session: UiSession | undefined, o: { secure: boolean }): void {
  setCookie(c, COOKIE, bearer, flags(o.secure));
  if (session) setCookie(c, SESSION_COOKIE, formatSession(session), flags(o.secure));
  else deleteCookie(c, SESSION_COOKIE, { path: COOKIE_PATH });
}

export function clearUiCookies(c: Context): void {
  deleteCookie(c, COOKIE, { path: COOKIE_PATH });
  deleteCookie(c, SESSION_COOKIE, { path: COOKIE_PATH });
}
