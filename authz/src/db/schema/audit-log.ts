import { bigserial, index, jsonb, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { instant } from "./columns.js";

/**
 * Every change of who may reach what, append-only: who did it (user, or the CLI), from where
 * (the client address for the API, `cli` for the CLI), what and when. No foreign keys: an
 * entry outlives the user, organization or endpoint it names.
 */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    at: instant("at").notNull().defaultNow(),
    /** The acting user; null for the CLI. */
    actorUserId: uuid("actor_user_id"),
    actorName: text("actor_name").notNull(),
    /** `api` or `cli`. */
    via: text("via").notNull(),
    /** The client address (API) or `cli`. */
    source: text("source").notNull(),
    /** E.g. `endpoint.created`, `member.removed`, `token.revoked`. */
    action: text("action").notNull(),
    targetType: text("target_type").notNull(),
    targetId: text("target_id").notNull(),
    /** The organization the change concerns, so its admins can read it. */
    organizationId: uuid("organization_id"),
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index("audit_log_org_idx").on(t.organizationId, t.id), index("audit_log_at_idx").on(t.at)],
);

export type AuditEntry = typeof auditLog.$inferSelect;
