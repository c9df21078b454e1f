import { Hono } from "hono";
import { z } from "zod";
import type { NatsConnection } from "@nats-io/transport-node";
import { announceGrantsChanged, authenticateCredential, BrokerError, revokeSession, sessionOfRefreshToken, type Db } from "@wb/authz";
import type { AuthService } from "../auth/sessions.js";
import type { AppEnv } from "../env.js";
import { parseJson } from "../validate.js";

export interface AuthDeps {
  db: Db;
  nc: NatsConnection;
  auth: AuthService;
}

const refreshBody = z.strictObject({ refresh_token: z.string().min(1).max(256) });
const logoutBody = z.strictObject({ refresh_token: z.string().min(1).max(256).optional() });

/**
 * The broker's session endpoints (public: the refresh token is the credential):
 * `POST /auth/refresh` exchanges a refresh token for new tokens (each refresh token works once;
 * a reused one revokes its session), `POST /auth/logout` ends the session of a refresh token or
 * of the bearer access token. `GET /.well-known/jwks.json` is mounted by jwksRoutes.
 */
export function authRoutes(deps: AuthDeps) {
  const app = new Hono<AppEnv>();

  app.post("/refresh", async (c) => {
    const body = await parseJson(c, refreshBody);
    c.header("Cache-Control", "no-store");
    try {
      return c.json(await deps.auth.refresh(body.refresh_token));
    } catch (err) {
      // A reused refresh token revoked its session: its NATS connections go too.
      if (err instanceof BrokerError && err.code === "refresh_token_reused") {
        const session = await sessionOfRefreshToken(deps.db, body.refresh_token);
        if (session) await announceGrantsChanged(deps.nc, { user_ids: [session.userId], change: "session_revoked" });
      }
      throw err;
    }
  });

  app.post("/logout", async (c) => {
    const text = await c.req.text();
    const body = text.trim() ? logoutBody.safeParse(safeJson(text)) : { success: true as const, data: {} };
    if (!body.success) throw new BrokerError("invalid_request", "the body must be {\"refresh_token\": \"...\"} or empty");
    const session = body.data.refresh_token ? await sessionOfRefreshToken(deps.db, body.data.refresh_token) : await sessionOfBearer(deps, c.req.header("authorization"));
    if (!session) throw new BrokerError("unauthenticated", "send the session's refresh token in the body, or its access token as 'Authorization: Bearer <token>'");
    await revokeSession(deps.db, session.sessionId, "logout");
    await announceGrantsChanged(deps.nc, { user_ids: [session.userId], change: "session_revoked" });
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

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
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
