import { sql } from "drizzle-orm";
import { pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, primaryId } from "./columns.js";

export const organizations = pgTable("organizations", {
  id: primaryId(),
  name: text("name").notNull().unique(),
  createdAt: createdAt(),
  /**
   * The GitHub organization this one follows: its admins and members (roles admin and member)
   * come from GitHub; viewers stay broker-only. Stored as GitHub spells it; unique ignoring case.
   */
  githubOrgName: text("github_org_name"),
}, (t) => [uniqueIndex("organizations_github_org_name_idx").on(sql`lower(${t.githubOrgName})`)]);

export type Organization = typeof organizations.$inferSelect;
