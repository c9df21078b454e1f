/**
 * Sessions and their refresh tokens. A refresh token is used once: each refresh marks it used and
 * hands out the next one of the same family (the session). Presenting a used one again means two
 * parties hold the family (a leaked token, or a client that retried after losing the answer):
 * the session is revoked, which also ends its access tokens and its NATS connections.
 */
import { createHash, randomBytes } from "node:crypto";
import { and, desc, eq, inArray, isNull } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { refreshTokens, sessions, users, type Session } from "../db/schema/index.js";
import { BrokerError } from "../errors.js";
import { UUID } from "../rules/limits.js";

export const REFRESH_TOKEN_PREFIX = "whr_";
export const DEFAULT_REFRESH_TOKEN_TTL_MS = 30 * 86_400_000;


function newRefreshToken(): { token: string; hash: string } {
  const token = REFRESH_TOKEN_PREFIX + randomBytes(32).toString("base64url");
  return { token, hash: hashRefreshToken(token) };
}

/** SHA-256 hex, like API tokens: 256 random bits need no slow hash. */
export function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export interface IssuedRefresh {
  session: Session;
  refreshToken: string;
  refreshExpiresAt: Date;
}

/** Opens a session for a user (after he signed in) with its first refresh token. */
export async function startSession(db: Db, userId: string, method: string, refreshTtlMs = DEFAULT_REFRESH_TOKEN_TTL_MS): Promise<IssuedRefresh> {
  return db.transaction(async (tx) => {
    const [session] = await tx.insert(sessions).values({ userId, method }).returning();
    const { token, hash } = newRefreshToken();
    const refreshExpiresAt = new Date(Date.now() + refreshTtlMs);
    await tx.insert(refreshTokens).values({ sessionId: session!.id, tokenHash: hash, expiresAt: refreshExpiresAt });
    return { session: session!, refreshToken: token, refreshExpiresAt };
  });
}

/**
 * Exchanges a refresh token for the next one of its family. Throws `unauthenticated` for an
 * unknown, expired or revoked one (or a disabled user), and `refresh_token_reused` (after revoking
 * the session) for one that was already used.
 */
export async function rotateRefreshToken(db: Db, presented: string, refreshTtlMs = DEFAULT_REFRESH_TOKEN_TTL_MS): Promise<IssuedRefresh> {
  if (!presented.startsWith(REFRESH_TOKEN_PREFIX)) throw invalidRefresh();
  const outcome = await db.transaction(async (tx) => {
    const [row] = await tx
      .select({ token: refreshTokens, session: sessions, disabledAt: users.disabledAt })
      .from(refreshTokens)
      .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(eq(refreshTokens.tokenHash, hashRefreshToken(presented)))
      .for("update", { of: [refreshTokens, sessions] })
      .limit(1);
    if (!row || row.session.revokedAt || row.disabledAt) return { error: invalidRefresh() };
    if (row.token.usedAt) {
      await tx.update(sessions).set({ revokedAt: new Date(), revokedReason: "refresh_token_reused" }).where(eq(sessions.id, row.session.id));
      // Returned, not thrown: the revocation must commit.
      return { error: new BrokerError("refresh_token_reused", "this refresh token was already used, so the session is revoked; sign in again") };
    }
    if (row.token.expiresAt.getTime() <= Date.now()) return { error: invalidRefresh() };
    const now = new Date();
    await tx.update(refreshTokens).set({ usedAt: now }).where(eq(refreshTokens.id, row.token.id));
    const { token, hash } = newRefreshToken();
    const refreshExpiresAt = new Date(now.getTime() + refreshTtlMs);
    await tx.insert(refreshTokens).values({ sessionId: row.session.id, tokenHash: hash, expiresAt: refreshExpiresAt });
    const [session] = await tx.update(sessions).set({ lastUsedAt: now }).where(eq(sessions.id, row.session.id)).returning();
    return { ok: { session: session!, refreshToken: token, refreshExpiresAt } };
  });
  if (outcome.error) throw outcome.error;
  return outcome.ok;
}

function invalidRefresh(): BrokerError {
  return new BrokerError("unauthenticated", "the refresh token is unknown, expired or revoked; sign in again");
}

/** Revokes a session (logout, an admin, a reused refresh token). Idempotent; false when there is no such session of this user. */
export async function revokeSession(db: Db, sessionId: string, reason: string, userId?: string): Promise<boolean> {
  if (!UUID.test(sessionId)) return false;
  const rows = await db
    .update(sessions)
    .set({ revokedAt: new Date(), revokedReason: reason })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), userId ? eq(sessions.userId, userId) : undefined))
    .returning({ id: sessions.id });
  if (rows.length > 0) return true;
  const existing = await db.query.sessions.findFirst({ where: and(eq(sessions.id, sessionId), userId ? eq(sessions.userId, userId) : undefined) });
  return existing !== undefined;
}

/** The session a refresh token belongs to (used or not), for logout by refresh token. */
export async function sessionOfRefreshToken(db: Db, presented: string): Promise<{ sessionId: string; userId: string } | null> {
  if (!presented.startsWith(REFRESH_TOKEN_PREFIX)) return null;
  const [row] = await db
    .select({ sessionId: sessions.id, userId: sessions.userId })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .where(eq(refreshTokens.tokenHash, hashRefreshToken(presented)))
    .limit(1);
  return row ?? null;
}

/** A user's sessions, newest first. */
export async function listSessions(db: Db, userId: string): Promise<Session[]> {
  return db.select().from(sessions).where(eq(sessions.userId, userId)).orderBy(desc(sessions.createdAt));
}

/** Which of these session ids are alive (not revoked, user not disabled): the callout's sweep. */
export async function liveSessionIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  const uuids = ids.filter((id) => UUID.test(id));
  if (uuids.length === 0) return new Set();
  const rows = await db
    .select({ id: sessions.id })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(inArray(sessions.id, uuids), isNull(sessions.revokedAt), isNull(users.disabledAt)));
  return new Set(rows.map((r) => r.id));
}
