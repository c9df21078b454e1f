import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { NatsConnection } from "@nats-io/transport-node";
import { announceGrantsChanged, authenticateCredential, BrokerError, revokeSession, sessionOfRefreshToken, type Db } from "@wb/authz";
import type { AuthService } from "../auth/sessions.js";
import { declare, describeIssues, errors, json, router } from "../openapi.js";

export interface AuthDeps {
  db: Db;
  nc: NatsConnection;
  auth: AuthService;
  /** The refresh cookie's lifetime and whether it is Secure (PUBLIC_URL is https). */
  cookies: RefreshCookies;
}

export interface RefreshCookies {
  refreshTtlMs: number;
  secure: boolean;
}

const refreshBody = z.strictObject({ refresh_token: z.string().min(1).max(256).optional() });
const logoutBody = z.strictObject({ refresh_token: z.string().min(1).max(256).optional() });

/**
 * The refresh token of a browser sign-in: HttpOnly (page scripts never see it), SameSite=Strict
 * (other sites cannot make the browser send it), only to /auth.
 */
export const REFRESH_COOKIE = "wb_refresh";

export function setRefreshCookie(c: Context, token: string, cookies: RefreshCookies): void {
  setCookie(c, REFRESH_COOKIE, token, { path: "/auth", httpOnly: true, sameSite: "Strict", secure: cookies.secure, maxAge: Math.floor(cookies.refreshTtlMs / 1000) });
}

/** An optional JSON body: empty is `{}`; anything else must parse against `schema`. */
async function optionalBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const text = await c.req.text();
  let raw: unknown = {};
  if (text.trim()) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new BrokerError("invalid_request", "the body must be JSON (or empty)");
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new BrokerError("invalid_request", describeIssues(parsed.error.issues, "body"));
  return parsed.data;
}

/** The broker's tokens, as a sign-in or a refresh answers them. */
export const Tokens = z
  .object({
    access_token: z.string().openapi({ description: "A JWT: send it as 'Authorization: Bearer <token>' (API and NATS)" }),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().openapi({ description: "Seconds" }),
    refresh_token: z.string().openapi({ description: "Works once: each refresh answers a new one" }),
    refresh_token_expires_in: z.number().int().openapi({ description: "Seconds" }),
    session_id: z.string(),
  })
  .openapi("Tokens");

const optionalJson = (schema: z.ZodType) => ({ required: false, content: { "application/json": { schema } } });
const tags = ["sign-in"];

/**
 * The broker's session endpoints (public: the refresh token is the credential):
 * `POST /auth/refresh` exchanges a refresh token for new tokens (each refresh token works once;
 * a reused one revokes its session), `POST /auth/logout` ends the session of a refresh token or
 * of the bearer access token. `GET /.well-known/jwks.json` is mounted by jwksRoutes.
 */
export function authRoutes(deps: AuthDeps) {
  const app = router();

  /** Refreshes; a reused refresh token revoked its session, so its NATS connections go too. */
  const refresh = async (token: string) => {
    try {
      return await deps.auth.refresh(token);
    } catch (err) {
      if (err instanceof BrokerError && err.code === "refresh_token_reused") {
        const session = await sessionOfRefreshToken(deps.db, token);
        if (session) await announceGrantsChanged(deps.nc, { user_ids: [session.userId], change: "session_revoked" });
      }
      throw err;
    }
  };

  const refreshRoute = createRoute({
    method: "post",
    path: "/refresh",
    tags,
    summary: "New tokens for a refresh token (from the body, or a browser's HttpOnly cookie)",
    description: "Each refresh token works once; presenting a used one again revokes its session (refresh_token_reused). A browser's answer leaves out refresh_token: its successor goes back into the cookie.",
    request: { body: optionalJson(refreshBody) },
    responses: { 200: json(Tokens.partial({ refresh_token: true }), "New tokens"), ...errors(400, 401, 503) },
  });
  declare(app, refreshRoute, async (c) => {
    const body = await optionalBody(c, refreshBody);
    c.header("Cache-Control", "no-store");
    if (body.refresh_token) return c.json(await refresh(body.refresh_token));
    // A browser: the refresh token is in its HttpOnly cookie, and its successor goes back there only.
    const cookie = getCookie(c, REFRESH_COOKIE);
    if (!cookie) throw new BrokerError("invalid_request", "send {\"refresh_token\": \"...\"} (or sign in from a browser, which keeps it in a cookie)");
    const { refresh_token, ...rest } = await refresh(cookie);
    setRefreshCookie(c, refresh_token, deps.cookies);
    return c.json(rest);
  });

  const logout = createRoute({
    method: "post",
    path: "/logout",
    tags,
    summary: "End the session of a refresh token (body or cookie) or of the bearer access token",
    request: { body: optionalJson(logoutBody) },
    responses: { 204: { description: "Signed out" }, ...errors(400, 401, 503) },
  });
  declare(app, logout, async (c) => {
    const body = await optionalBody(c, logoutBody);
    const presented = body.refresh_token ?? getCookie(c, REFRESH_COOKIE);
    const session = presented ? await sessionOfRefreshToken(deps.db, presented) : await sessionOfBearer(deps, c.req.header("authorization"));
    if (!session) throw new BrokerError("unauthenticated", "send the session's refresh token in the body, or its access token as 'Authorization: Bearer <token>'");
    await revokeSession(deps.db, session.sessionId, "logout");
    await announceGrantsChanged(deps.nc, { user_ids: [session.userId], change: "session_revoked" });
    deleteCookie(c, REFRESH_COOKIE, { path: "/auth" });
    return c.body(null, 204);
  });

  return app;
}

async function sessionOfBearer(deps: AuthDeps, header: string | undefined): Promise<{ sessionId: string; userId: string } | null> {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  if (!m) return null;
  const found = await authenticateCredential(deps.db, deps.auth.verifier, m[1]!);
  return found?.credential.kind === "session" ? { sessionId: found.credential.id, userId: found.principal.userId } : null;
}

/** `GET /.well-known/jwks.json`: the public keys that verify the broker's access tokens now. */
export function jwksRoutes(deps: { auth: AuthService }) {
  const app = router();
  const jwks = createRoute({
    method: "get",
    path: "/jwks.json",
    tags,
    summary: "The public keys that verify the broker's access tokens now",
    responses: { 200: json(z.object({ keys: z.array(z.object({ kid: z.string(), kty: z.string() }).passthrough()) }), "A JSON Web Key Set") },
  });
  declare(app, jwks, async (c) => {
    // Short: after a rotation, verifiers that cache it refetch within a minute (or on an unknown kid).
    c.header("Cache-Control", "public, max-age=60");
    return c.json(await deps.auth.verifier.jwks());
  });
  return app;
}
