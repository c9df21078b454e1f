/**
 * The audit log: every change of who may reach what, with who, from where and when. Services
 * record inside the transaction of the change itself, so an entry exists exactly when the
 * change happened.
 */
import { and, desc, eq, inArray, lt, type SQL } from "drizzle-orm";
import type { Db } from "./db/client.js";
import { auditLog, type AuditEntry } from "./db/schema/index.js";
import { BrokerError } from "./errors.js";
import { ROLE_CAPABILITIES, type Actor } from "./rules/access.js";

/** Who acts, and from where: the API (client address), the CLI, or the GitHub sync (what GitHub said). */
export interface Acting {
  actor: Actor;
  via: "api" | "cli" | "github";
  /** The client address for the API; `cli` for the CLI. */
  source: string;
}

/** The CLI's acting context (an operator; see CLI_ACTOR). */
export function cliActing(actor: Actor): Acting {
  return { actor, via: "cli", source: "cli" };
}

export type AuditAction =
  | "endpoint.created"
  | "endpoint.updated"
  | "endpoint.deleted"
  | "endpoint.secret_rotated"
  | "reservation.created"
  | "reservation.deleted"
  | "organization.created"
  | "organization.github_linked"
  | "member.added"
  | "member.role_changed"
  | "member.removed"
  | "token.created"
  | "token.revoked"
  | "user.created"
  | "user.disabled"
  | "user.enabled"
  | "user.admin_changed";

export interface AuditRecord {
  action: AuditAction;
  targetType: "endpoint" | "reservation" | "organization" | "membership" | "token" | "user";
  targetId: string;
  organizationId?: string | null;
  details?: Record<string, unknown>;
}

/** What record() needs: a database or a transaction. */
type Writer = Pick<Db, "insert">;

export async function recordAudit(db: Writer, acting: Acting, entry: AuditRecord): Promise<void> {
  await db.insert(auditLog).values({
    actorUserId: acting.actor.userId ?? null,
    actorName: acting.actor.name ?? (acting.via === "cli" ? "cli" : "unknown"),
    via: acting.via,
    source: acting.source,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    organizationId: entry.organizationId ?? null,
    details: entry.details ?? {},
  });
}

/**
 * Entries the actor may read, newest first: a global admin all of them (or one organization's),
 * an organization admin those of the organizations he administers. Anyone else is refused.
 */
export async function listAudit(
  db: Db,
  actor: Actor,
  opts: { organizationId?: string; limit?: number; beforeId?: number } = {},
): Promise<AuditEntry[]> {
  const administered = Object.entries(actor.roles)
    .filter(([, role]) => ROLE_CAPABILITIES[role].members)
    .map(([id]) => id);
  const where: SQL[] = [];
  if (!actor.isAdmin) {
    if (administered.length === 0) throw new BrokerError("forbidden", "only global admins and organization admins read the audit log");
    const orgs = opts.organizationId ? administered.filter((id) => id === opts.organizationId) : administered;
    if (orgs.length === 0) throw new BrokerError("forbidden", "you read the audit entries of organizations you administer only");
    where.push(inArray(auditLog.organizationId, orgs));
  } else if (opts.organizationId) {
    where.push(eq(auditLog.organizationId, opts.organizationId));
  }
  if (opts.beforeId !== undefined) where.push(lt(auditLog.id, opts.beforeId));
  return db
    .select()
    .from(auditLog)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(opts.limit ?? 100);
}

/** An entry as the API and the CLI show it. */
export function viewAudit(e: AuditEntry) {
  return {
    id: e.id,
    at: e.at.toISOString(),
    actor: { user_id: e.actorUserId, name: e.actorName, via: e.via, source: e.source },
    action: e.action,
    target: { type: e.targetType, id: e.targetId },
    organization_id: e.organizationId,
    details: e.details,
  };
}
