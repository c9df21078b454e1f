import { sql } from "drizzle-orm";
import { bigint, boolean, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, instant, primaryId } from "./columns.js";

export const users = pgTable("users", {
  id: primaryId(),
  name: text("name").notNull().unique(),
  isAdmin: boolean("is_admin").notNull().default(false),
  disabledAt: instant("disabled_at"),
  /**
   * Random part of the user's NATS inbox prefix (naming.ts userInboxPrefix). nats-server cannot
   * restrict a publish's reply subject, so an inbox nobody else can name is what keeps another
   * user from pointing a pull's replies at it. Shown only to the user (GET /api/v1/me).
   */
  inboxToken: text("inbox_token").notNull().default(sql`replace(gen_random_uuid()::text, '-', '')`),
  createdAt: createdAt(),
  /** The GitHub account he signs in with: its numeric id (logins can be renamed), and its login as last seen. */
  githubId: bigint("github_id", { mode: "number" }).unique(),
  githubLogin: text("github_login"),
});

export type User = typeof users.$inferSelect;
