import { index, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, instant, parentRef, primaryId } from "./columns.js";
import { users } from "./users.js";

/** API tokens are stored as SHA-256 of the token; the plaintext is shown once at creation. */
export const apiTokens = pgTable(
  "api_tokens",
  {
    id: primaryId(),
    userId: parentRef("user_id", () => users.id),
    name: text("name").notNull(),
    /** First characters of the token, for humans to tell tokens apart in listings. */
    displayPrefix: text("display_prefix").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    createdAt: createdAt(),
    expiresAt: instant("expires_at"),
    revokedAt: instant("revoked_at"),
    /** Last successful authentication, to the minute (updated at most once a minute). */
    lastUsedAt: instant("last_used_at"),
  },
  (t) => [index("api_tokens_user_idx").on(t.userId)],
);

export type ApiToken = typeof apiTokens.$inferSelect;
