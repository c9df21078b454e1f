/**
 * Account changes beyond create/disable (users.ts): enabling, the global admin flag, and a user's
 * own API tokens, as the self-service and admin HTTP routes need them.
 */
import { and, eq, isNull } from "drizzle-orm";
import { recordAudit, type Acting } from "./audit.js";
import type { Db } from "./db/client.js";
import { apiTokens, users, type User } from "./db/schema/index.js";
import { BrokerError } from "./errors.js";
import { UUID } from "./rules/limits.js";


/** Lifts a user's disabling: his unexpired, unrevoked tokens and sessions work again. */
export async function enableUser(db: Db, userId: string, acting?: Acting): Promise<User> {
  return db.transaction(async (tx) => {
    const [row] = await tx.update(users).set({ disabledAt: null }).where(eq(users.id, userId)).returning();
    if (!row) throw new BrokerError("not_found", `user ${userId} not found`);
    if (acting) await recordAudit(tx, acting, { action: "user.enabled", targetType: "user", targetId: userId, details: { name: row.name } });
    return row;
  });
}

/** Grants or takes away global admin rights. */
export async function setUserAdmin(db: Db, userId: string, isAdmin: boolean, acting?: Acting): Promise<User> {
  return db.transaction(async (tx) => {
    const [row] = await tx.update(users).set({ isAdmin }).where(eq(users.id, userId)).returning();
    if (!row) throw new BrokerError("not_found", `user ${userId} not found`);
    if (acting) await recordAudit(tx, acting, { action: "user.admin_changed", targetType: "user", targetId: userId, details: { name: row.name, admin: isAdmin } });
    return row;
  });
}

/** Revokes one of the user's own active tokens; anyone else's (or none) is not found. */
export async function revokeOwnApiToken(db: Db, userId: string, tokenId: string, acting?: Acting): Promise<void> {
  const notFound = new BrokerError("not_found", `active token ${tokenId} not found`);
  if (!UUID.test(tokenId)) throw notFound;
  await db.transaction(async (tx) => {
    const rows = await tx
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id });
    if (rows.length === 0) throw notFound;
    if (acting) await recordAudit(tx, acting, { action: "token.revoked", targetType: "token", targetId: tokenId, details: { user_id: userId } });
  });
}
