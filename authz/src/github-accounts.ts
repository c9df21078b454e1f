/**
 * Broker users who sign in with GitHub: found by GitHub's numeric user id, never by login (logins
 * can be renamed and then taken by someone else), and their GitHub tokens, sealed at rest.
 */
import { eq } from "drizzle-orm";
import type { Db } from "./db/client.js";
import { githubTokens, users, type User } from "./db/schema/index.js";
import { recordAudit } from "./audit.js";
import { BrokerError } from "./errors.js";
import type { SecretBox } from "./secret-box.js";

export interface GitHubIdentity {
  id: number;
  login: string;
}

/** A user's GitHub tokens in the clear (only in memory, for one call to GitHub). */
export interface GitHubTokenSet {
  accessToken: string;
  scope: string;
  expiresAt: Date | null;
  refreshToken: string | null;
  refreshExpiresAt: Date | null;
}

/**
 * The broker user of a GitHub account: the one linked to its numeric id (his recorded login is
 * updated after a rename), or a new user named after the login (`<login>-gh<id>` when that name
 * is taken: an existing broker user is never taken over because of a matching name). Stores the
 * tokens. Refuses a disabled user.
 */
export async function signInGitHubUser(
  db: Db,
  box: SecretBox,
  identity: GitHubIdentity,
  tokens: GitHubTokenSet,
  /** Where the sign-in came from (the client address), for the audit entry of a new user. */
  source = "unknown",
): Promise<{ user: User; created: boolean }> {
  const result = await db.transaction(async (tx) => {
    const [linked] = await tx.select().from(users).where(eq(users.githubId, identity.id)).for("update").limit(1);
    let user = linked;
    let created = false;
    if (user && user.githubLogin !== identity.login) {
      [user] = await tx.update(users).set({ githubLogin: identity.login }).where(eq(users.id, user.id)).returning();
    }
    if (!user) {
      const base = identity.login.toLowerCase();
      for (const name of [base, `${base}-gh${identity.id}`]) {
        [user] = await tx.insert(users).values({ name, githubId: identity.id, githubLogin: identity.login }).onConflictDoNothing({ target: users.name }).returning();
        if (user) break;
      }
      if (!user) throw new BrokerError("conflict", `no free user name for GitHub user ${identity.login}`);
      created = true;
      await recordAudit(
        tx,
        { actor: { userId: user.id, name: user.name, isAdmin: false, roles: {} }, via: "api", source },
        { action: "user.created", targetType: "user", targetId: user.id, details: { name: user.name, admin: false, github_id: identity.id, github_login: identity.login } },
      );
    }
    if (!user.disabledAt) await upsertTokens(tx, box, user.id, tokens);
    return { user, created };
  });
  if (result.user.disabledAt) throw new BrokerError("forbidden", `user ${result.user.name} is disabled`);
  return result;
}

type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

async function upsertTokens(db: Db | Tx, box: SecretBox, userId: string, t: GitHubTokenSet): Promise<void> {
  const row = {
    accessTokenEnc: box.seal(t.accessToken),
    accessExpiresAt: t.expiresAt,
    refreshTokenEnc: t.refreshToken ? box.seal(t.refreshToken) : null,
    refreshExpiresAt: t.refreshExpiresAt,
    scope: t.scope,
    updatedAt: new Date(),
  };
  await db.insert(githubTokens).values({ userId, ...row }).onConflictDoUpdate({ target: githubTokens.userId, set: row });
}

/** Replaces a user's GitHub tokens (after GitHub renewed them). */
export function saveGitHubTokens(db: Db, box: SecretBox, userId: string, tokens: GitHubTokenSet): Promise<void> {
  return upsertTokens(db, box, userId, tokens);
}

/** The user's GitHub tokens, unsealed; null when he never signed in with GitHub or they were dropped. */
export async function loadGitHubTokens(db: Db, box: SecretBox, userId: string): Promise<GitHubTokenSet | null> {
  const [row] = await db.select().from(githubTokens).where(eq(githubTokens.userId, userId)).limit(1);
  if (!row) return null;
  return {
    accessToken: box.open(row.accessTokenEnc),
    scope: row.scope,
    expiresAt: row.accessExpiresAt,
    refreshToken: row.refreshTokenEnc ? box.open(row.refreshTokenEnc) : null,
    refreshExpiresAt: row.refreshExpiresAt,
  };
}

/** Drops a user's GitHub tokens (GitHub refused them: he must sign in again). */
export async function forgetGitHubTokens(db: Db, userId: string): Promise<void> {
  await db.delete(githubTokens).where(eq(githubTokens.userId, userId));
}
