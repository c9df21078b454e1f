import { boolean, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { instant, parentRef } from "./columns.js";
import { users } from "./users.js";

/**
 * What GitHub last said about a user and a repository (his own token, GET /repos/{owner}/{repo}):
 * whether he may read it, valid until `verified_until` (the answer's time + GITHUB_CACHE_TTL).
 * Repository-scoped endpoints are readable only with a current `can_read`.
 */
export const githubRepoAccess = pgTable(
  "github_repo_access",
  {
    userId: parentRef("user_id", () => users.id),
    /** `owner/repo`, lower-cased (GitHub names are case-insensitive). */
    repo: text("repo").notNull(),
    canRead: boolean("can_read").notNull(),
    verifiedUntil: instant("verified_until").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.repo] })],
);

export type GitHubRepoAccess = typeof githubRepoAccess.$inferSelect;
