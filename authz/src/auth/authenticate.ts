/**
 * The one credential lookup for every transport: the gateway's bearer middleware and the auth
 * callout both call {@link authenticateCredential}, so an API token and an access JWT mean the
 * same user with the same checks everywhere.
 */
import { and, eq, gt, isNull, or, sql } from "drizzle-orm";
import type { Principal } from "../acl.js";
import type { Db } from "../db/client.js";
import { apiTokens, sessions, users } from "../db/schema/index.js";
import { hashApiToken, looksLikeApiToken } from "../tokens.js";
import { looksLikeJwt, type AccessTokenVerifier } from "./access-token.js";

/** What authenticated a request: an API token (by id) or a session's access token. */
export type CredentialRef =
  | { kind: "api_token"; id: string; /** The token's expiry, if it has one. */ expiresAt: Date | null }
  | { kind: "session"; id: string; jti: string; /** The access token's expiry. */ expiresAt: Date };

export interface AuthenticatedCredential {
  principal: Principal;
  credential: CredentialRef;
}

/**
 * Resolves a bearer string: a JWT is checked as an access token (signature, type, expiry, then
 * its session alive and its user enabled), anything else as an API token. Null when not valid.
 */
export async function authenticateCredential(db: Db, verifier: AccessTokenVerifier, bearer: string): Promise<AuthenticatedCredential | null> {
  if (looksLikeJwt(bearer)) {
    const claims = await verifier.verify(bearer);
    if (!claims) return null;
    const [row] = await db
      .select({ userId: users.id, name: users.name, isAdmin: users.isAdmin })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.id, claims.sessionId), eq(sessions.userId, claims.userId), isNull(sessions.revokedAt), isNull(users.disabledAt)))
      .limit(1);
    if (!row) return null;
    return { principal: row, credential: { kind: "session", id: claims.sessionId, jti: claims.jti, expiresAt: new Date(claims.exp * 1000) } };
  }
  if (!looksLikeApiToken(bearer)) return null;
  const [row] = await db
    .select({ userId: users.id, name: users.name, isAdmin: users.isAdmin, id: apiTokens.id, lastUsedAt: apiTokens.lastUsedAt, expiresAt: apiTokens.expiresAt })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(
      and(
        eq(apiTokens.tokenHash, hashApiToken(bearer)),
        isNull(apiTokens.revokedAt),
        isNull(users.disabledAt),
        or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, sql`now()`)),
      ),
    )
    .limit(1);
  if (!row) return null;
  // Last use is kept to the minute: at most one write per token and minute, off the request's path.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    void db
      .update(apiTokens)
      .set({ lastUsedAt: sql`now()` })
      .where(eq(apiTokens.id, row.id))
      .catch(() => {});
  }
  return { principal: { userId: row.userId, name: row.name, isAdmin: row.isAdmin }, credential: { kind: "api_token", id: row.id, expiresAt: row.expiresAt } };
}
