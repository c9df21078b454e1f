import { sql } from "drizzle-orm";
import { check, index, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, primaryId } from "./columns.js";
import { organizations } from "./organizations.js";
import { users } from "./users.js";

/**
 * A path prefix a global admin set aside for one user or organization: inside it only that
 * owner has endpoints, and no other owner's endpoint may contain it (rules/ownership.ts).
 */
export const reservations = pgTable(
  "reservations",
  {
    id: primaryId(),
    /** Decoded segments joined by `/`, as endpoint paths are stored. */
    prefix: text("prefix").notNull().unique(),
    ownerUserId: uuid("owner_user_id").references(() => users.id, { onDelete: "cascade" }),
    ownerOrgId: uuid("owner_org_id").references(() => organizations.id, { onDelete: "cascade" }),
    note: text("note"),
    createdAt: createdAt(),
  },
  (t) => [
    check("reservations_one_owner", sql`(${t.ownerUserId} is null) <> (${t.ownerOrgId} is null)`),
    index("reservations_owner_org_idx").on(t.ownerOrgId),
  ],
);

export type Reservation = typeof reservations.$inferSelect;
