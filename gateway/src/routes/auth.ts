import { Hono, type Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { NatsConnection } from "@nats-io/transport-node";
import { announceGrantsChanged, authenticateCredential, BrokerError, revokeSession, sessionOfRefreshToken, type Db } from "@wb/authz";
import type { AuthService } from "../auth/sessions.js";
import type { AppEnv } from "../env.js";

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
  if (!parsed.success) throw new BrokerError("invalid_request", parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
  return parsed.data;
}

/**
 * The broker's session endpoints (public: the refresh token is the credential):
 * `POST /auth/refresh` exchanges a refresh token for new tokens (each refresh token works once;
 * a reused one revokes its session), `POST /auth/logout` ends the session of a refresh token or
 * of the bearer access token. `GET /.well-known/jwks.json` is mounted by jwksRoutes.
 */
export function authRoutes(deps: AuthDeps) {
  const app = new Hono<AppEnv>();

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

  app.post("/refresh", async (c) => {
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

  app.post("/logout", async (c) => {
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
  const app = new Hono<AppEnv>();
  app.get("/jwks.json", async (c) => {
    // Short: after a rotation, verifiers that cache it refetch within a minute (or on an unknown kid).
    c.header("Cache-Control", "public, max-age=60");
    return c.json(await deps.auth.verifier.jwks());
  });
  return app;
}
