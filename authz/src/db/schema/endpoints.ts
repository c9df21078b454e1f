import { sql } from "drizzle-orm";
import { boolean, check, integer, jsonb, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, instant, primaryId } from "./columns.js";
import { organizations } from "./organizations.js";
import { users } from "./users.js";

/**
 * A webhook endpoint: a path prefix below `/webhook/`, the provider whose signature scheme
 * it verifies, its secrets (encrypted at rest, AES-256-GCM) and exactly one owner.
 */
export const endpoints = pgTable(
  "endpoints",
  {
    id: primaryId(),
    /** Decoded path segments joined by `/`, no leading or trailing slash. */
    path: text("path").notNull().unique(),
    provider: text("provider").notNull(),
    /** Free text for humans (what sends here, who to ask). */
    description: text("description"),
    providerOptions: jsonb("provider_options").$type<Record<string, unknown>>().notNull().default({}),
    secretEnc: text("secret_enc").notNull(),
    previousSecretEnc: text("previous_secret_enc"),
    previousSecretExpiresAt: instant("previous_secret_expires_at"),
    ownerUserId: uuid("owner_user_id").references(() => users.id, { onDelete: "cascade" }),
    ownerOrgId: uuid("owner_org_id").references(() => organizations.id, { onDelete: "cascade" }),
    isPublic: boolean("is_public").notNull().default(false),
    /**
     * Repository-scoped: `owner/repo` on GitHub. Then a member reads it only while GitHub says he
     * may read that repository (github_repo_access).
     */
    githubRepo: text("github_repo"),
    /** Overrides the gateway's default body limit for this endpoint. */
    maxBodyBytes: integer("max_body_bytes"),
    createdAt: createdAt(),
    updatedAt: instant("updated_at").notNull().defaultNow(),
  },
  (t) => [
    check("endpoints_one_owner", sql`(${t.ownerUserId} is null) <> (${t.ownerOrgId} is null)`),
  ],
);

export type Endpoint = typeof endpoints.$inferSelect;
