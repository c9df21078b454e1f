import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "./db/client.js";
import { apiTokens, users, type User } from "./db/schema/index.js";
import { recordAudit, type Acting } from "./audit.js";
import { BrokerError } from "./errors.js";
import { checkAccountName } from "./placement.js";
import { ACCOUNT_NAME, USER_NAME_RULE, UUID } from "./rules/limits.js";
import { displayPrefix, generateApiToken, hashApiToken } from "./tokens.js";
import { userInboxPrefix } from "./naming.js";

export async function createUser(db: Db, input: { name: string; isAdmin?: boolean }, acting?: Acting): Promise<User> {
  if (!ACCOUNT_NAME.test(input.name)) throw new BrokerError("invalid_request", USER_NAME_RULE);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(users)
      .values({ name: input.name, isAdmin: input.isAdmin ?? false })
      .onConflictDoNothing()
      .returning();
    if (!row) throw new BrokerError("conflict", `user ${input.name} already exists`);
    if (acting) await recordAudit(tx, acting, { action: "user.created", targetType: "user", targetId: row.id, details: { name: row.name, admin: row.isAdmin } });
    return row;
  });
}

export async function findUserByName(db: Db, name: string): Promise<User> {
  checkAccountName(name, "user");
  const row = await db.query.users.findFirst({ where: eq(users.name, name) });
  if (!row) throw new BrokerError("not_found", `user ${name} not found`);
  return row;
}

export async function listUsers(db: Db): Promise<User[]> {
  return db.select().from(users).orderBy(users.name);
}

/** Creates an API token; the plaintext is returned once and only its hash is stored. */
export async function createApiToken(
  db: Db,
  userId: string,
  name: string,
  expiresAt?: Date,
  acting?: Acting,
): Promise<{ id: string; token: string }> {
  const token = generateApiToken();
  const id = await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(apiTokens)
      .values({ userId, name, tokenHash: hashApiToken(token), displayPrefix: displayPrefix(token), expiresAt })
      .returning({ id: apiTokens.id });
    // Never the token itself: its id, name and owner.
    if (acting) await recordAudit(tx, acting, { action: "token.created", targetType: "token", targetId: row!.id, details: { user_id: userId, name, expires_at: expiresAt?.toISOString() ?? null } });
    return row!.id;
  });
  return { id, token };
}

/** Revokes an active token; returns whose it was (the caller announces the change). */
export async function revokeApiToken(db: Db, tokenId: string, acting?: Acting): Promise<{ id: string; userId: string }> {
  if (!UUID.test(tokenId)) throw new BrokerError("not_found", `active token ${tokenId} not found`);
  return db.transaction(async (tx) => {
    const rows = await tx
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiTokens.id, tokenId), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id, userId: apiTokens.userId });
    if (rows.length === 0) throw new BrokerError("not_found", `active token ${tokenId} not found`);
    if (acting) await recordAudit(tx, acting, { action: "token.revoked", targetType: "token", targetId: tokenId, details: { user_id: rows[0]!.userId } });
    return rows[0]!;
  });
}

export async function listApiTokens(db: Db, userId: string) {
  return db
    .select({
      id: apiTokens.id,
      name: apiTokens.name,
      displayPrefix: apiTokens.displayPrefix,
      createdAt: apiTokens.createdAt,
      expiresAt: apiTokens.expiresAt,
      revokedAt: apiTokens.revokedAt,
      lastUsedAt: apiTokens.lastUsedAt,
    })
    .from(apiTokens)
    .where(eq(apiTokens.userId, userId))
    .orderBy(apiTokens.createdAt);
}

/**
 * Marks a user disabled. His tokens stop authenticating at once (authenticateCredential checks
 * `disabled_at`); nothing is deleted. Disabling an already disabled user keeps the first time.
 */
export async function disableUser(db: Db, userId: string, acting?: Acting): Promise<User> {
  const row = await db.transaction(async (tx) => {
    const [disabled] = await tx
      .update(users)
      .set({ disabledAt: new Date() })
      .where(and(eq(users.id, userId), isNull(users.disabledAt)))
      .returning();
    if (disabled && acting) await recordAudit(tx, acting, { action: "user.disabled", targetType: "user", targetId: userId, details: { name: disabled.name } });
    return disabled;
  });
  if (row) return row;
  const existing = await db.query.users.findFirst({ where: eq(users.id, userId) });
  if (!existing) throw new BrokerError("not_found", `user ${userId} not found`);
  return existing;
}

/** The user's private NATS inbox prefix (see userInboxPrefix); only ever shown to himself. */
export async function inboxPrefixOf(db: Db, userId: string): Promise<string> {
  const [row] = await db.select({ token: users.inboxToken }).from(users).where(eq(users.id, userId));
  if (!row) throw new BrokerError("not_found", `user ${userId} not found`);
  return userInboxPrefix(userId, row.token);
}
