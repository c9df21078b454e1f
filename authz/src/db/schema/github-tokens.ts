import { pgTable, text, uuid } from "drizzle-orm/pg-core";
import { instant } from "./columns.js";
import { users } from "./users.js";

/**
 * A signed-in GitHub user's GitHub tokens, sealed with SECRET_KEY (never stored or logged in the
 * clear): the broker checks his organizations and repositories with them. Expiring tokens (GitHub
 * Apps) come with a refresh token and are renewed before use.
 */
export const githubTokens = pgTable("github_tokens", {
  userId: uuid("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  accessTokenEnc: text("access_token_enc").notNull(),
  accessExpiresAt: instant("access_expires_at"),
  refreshTokenEnc: text("refresh_token_enc"),
  refreshExpiresAt: instant("refresh_expires_at"),
  scope: text("scope").notNull().default(""),
  updatedAt: instant("updated_at").notNull().defaultNow(),
  /** The last time GitHub confirmed his organizations and repositories. */
  syncedAt: instant("synced_at"),
  /** Why the last attempt failed (GitHub down, rate-limited); cleared by a success. */
  syncError: text("sync_error"),
  syncErrorAt: instant("sync_error_at"),
  /** A gateway that took this user's sync holds it until then (several gateways share the schedule). */
  syncClaimedUntil: instant("sync_claimed_until"),
});

export type GitHubTokenRow = typeof githubTokens.$inferSelect;
