import { index, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, instant, parentRef, primaryId } from "./columns.js";
import { users } from "./users.js";

/**
 * A signed-in session: one family of refresh tokens. Access JWTs carry its id (`sid`) and are
 * refused once it is revoked; the auth callout treats it as the credential of a NATS connection.
 */
export const sessions = pgTable(
  "sessions",
  {
    id: primaryId(),
    userId: parentRef("user_id", () => users.id),
    /** How the session was opened (`github`, `github_device`, ...): shown in listings. */
    method: text("method").notNull(),
    createdAt: createdAt(),
    lastUsedAt: instant("last_used_at").notNull().defaultNow(),
    revokedAt: instant("revoked_at"),
    /** `logout`, `refresh_token_reused`, `admin`, ... */
    revokedReason: text("revoked_reason"),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

export type Session = typeof sessions.$inferSelect;

/**
 * Every refresh token a session was given, stored as SHA-256. Each is used once: a refresh marks
 * it used and issues the next. A used token presented again means it leaked (or a client retried
 * after losing the answer): the whole session is revoked.
 */
export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    id: primaryId(),
    sessionId: parentRef("session_id", () => sessions.id),
    tokenHash: text("token_hash").notNull().unique(),
    createdAt: createdAt(),
    expiresAt: instant("expires_at").notNull(),
    usedAt: instant("used_at"),
  },
  (t) => [index("refresh_tokens_session_idx").on(t.sessionId)],
);

export type RefreshToken = typeof refreshTokens.$inferSelect;
