import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "./db/client.js";
import { apiTokens, users, type User } from "./db/schema/index.js";
import { BrokerError } from "./errors.js";
import { displayPrefix, generateApiToken, hashApiToken } from "./tokens.js";

const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export async function createUser(db: Db, input: { name: string; isAdmin?: boolean }): Promise<User> {
  if (!USER_NAME.test(input.name)) {
    throw new BrokerError("invalid_request", "user name must be 1-64 chars of a-z, 0-9, '.', '_', '-'");
  }
  const [row] = await db
    .insert(users)
    .values({ name: input.name, isAdmin: input.isAdmin ?? false })
    .onConflictDoNothing()
    .returning();
  if (!row) throw new BrokerError("conflict", `user ${input.name} already exists`);
  return row;
}

export async function findUserByName(db: Db, name: string): Promise<User> {
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
): Promise<{ id: string; token: string }> {
  const token = generateApiToken();
  const [row] = await db
    .insert(apiTokens)
    .values({ userId, name, tokenHash: hashApiToken(token), displayPrefix: displayPrefix(token), expiresAt })
    .returning({ id: apiTokens.id });
  return { id: row!.id, token };
}

export async function revokeApiToken(db: Db, tokenId: string): Promise<void> {
  const rows = await db
    .update(apiTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiTokens.id, tokenId), isNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id });
  if (rows.length === 0) throw new BrokerError("not_found", `active token ${tokenId} not found`);
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
export async function disableUser(db: Db, userId: string): Promise<User> {
  const [row] = await db
    .update(users)
    .set({ disabledAt: new Date() })
    .where(and(eq(users.id, userId), isNull(users.disabledAt)))
    .returning();
  if (row) return row;
  const existing = await db.query.users.findFirst({ where: eq(users.id, userId) });
  if (!existing) throw new BrokerError("not_found", `user ${userId} not found`);
  return existing;
}
