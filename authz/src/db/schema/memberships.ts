import { index, pgEnum, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { createdAt, instant, parentRef } from "./columns.js";
import { organizations } from "./organizations.js";
import { users } from "./users.js";

export const orgRole = pgEnum("org_role", ["admin", "member", "viewer"]);
export type OrgRole = (typeof orgRole.enumValues)[number];
export type MembershipSource = "broker" | "github";

export const memberships = pgTable(
  "memberships",
  {
    organizationId: parentRef("organization_id", () => organizations.id),
    userId: parentRef("user_id", () => users.id),
    role: orgRole("role").notNull(),
    createdAt: createdAt(),
    /** `broker` (added here) or `github` (taken from the linked GitHub organization). */
    source: text("source").$type<MembershipSource>().notNull().default("broker"),
    /**
     * A GitHub membership counts until then (the last confirmation + GITHUB_CACHE_TTL): when
     * GitHub cannot be asked again in time, access ends (fails closed). Null for broker ones.
     */
    verifiedUntil: instant("verified_until"),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.userId] }), index("memberships_user_idx").on(t.userId)],
);

export type Membership = typeof memberships.$inferSelect;
