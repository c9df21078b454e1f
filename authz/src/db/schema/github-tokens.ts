import { pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
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
  accessExpiresAt: timestamp("access_expires_at", { withTimezone: true }),
  refreshTokenEnc: text("refresh_token_enc"),
  refreshExpiresAt: timestamp("refresh_expires_at", { withTimezone: true }),
  scope: text("scope").notNull().default(""),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  /** The last time GitHub confirmed his organizations and repositories. */
  syncedAt: timestamp("synced_at", { withTimezone: true }),
  /** Why the last attempt failed (GitHub down, rate-limited); cleared by a success. */
  syncError: text("sync_error"),
  syncErrorAt: timestamp("sync_error_at", { withTimezone: true }),
  /** A gateway that took this user's sync holds it until then (several gateways share the schedule). */
  syncClaimedUntil: timestamp("sync_claimed_until", { withTimezone: true }),
});

export type GitHubTokenRow = typeof githubTokens.$inferSelect;
