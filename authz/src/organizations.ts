import { and, count, eq, inArray, ne, type SQL } from "drizzle-orm";
import type { Db } from "./db/client.js";
import { memberships, organizations, users, type OrgRole } from "./db/schema/index.js";
import { recordAudit, type Acting, type AuditAction } from "./audit.js";
import { activeMembership } from "./acl.js";
import { BrokerError } from "./errors.js";
import { manualMembershipChange } from "./rules/github.js";
import { ACCOUNT_NAME, ORG_NAME_RULE } from "./rules/limits.js";

export async function createOrganization(db: Db, name: string, acting?: Acting) {
  if (!ACCOUNT_NAME.test(name)) throw new BrokerError("invalid_request", ORG_NAME_RULE);
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(organizations).values({ name }).onConflictDoNothing().returning();
    if (!row) throw new BrokerError("conflict", `organization ${name} already exists`);
    if (acting) await recordAudit(tx, acting, { action: "organization.created", targetType: "organization", targetId: row.id, organizationId: row.id, details: { name } });
    return row;
  });
}

/** Records a membership change in the audit log. */
function auditMember(tx: Pick<Db, "insert">, acting: Acting | undefined, action: AuditAction, organizationId: string, userId: string, details: Record<string, unknown>) {
  if (!acting) return;
  return recordAudit(tx, acting, { action, targetType: "membership", targetId: `${organizationId}:${userId}`, organizationId, details: { user_id: userId, ...details } });
}

/**
 * Adds a member, or changes the role of an existing one. Demoting the organization's last
 * admin is refused (conflict): an organization always keeps someone who can manage it.
 */
export async function addMember(db: Db, organizationId: string, userId: string, role: OrgRole, acting?: Acting) {
  await db.transaction(async (tx) => {
    await lockOrganization(tx, organizationId);
    await refuseGitHubManaged(tx, organizationId, userId, role);
    if (role !== "admin") await refuseLastAdmin(tx, organizationId, userId, "demote");
    const [before] = await tx.select({ role: memberships.role }).from(memberships).where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)));
    await tx
      .insert(memberships)
      .values({ organizationId, userId, role })
      .onConflictDoUpdate({ target: [memberships.organizationId, memberships.userId], set: { role } });
    if (!before) await auditMember(tx, acting, "member.added", organizationId, userId, { role });
    else if (before.role !== role) await auditMember(tx, acting, "member.role_changed", organizationId, userId, { from: before.role, to: role });
  });
}

/** Every organization with its member count, by name. */
export async function listOrganizations(db: Db) {
  return organizationsWithCounts(db);
}

function organizationsWithCounts(db: Db, where?: SQL) {
  return db
    .select({
      id: organizations.id,
      name: organizations.name,
      createdAt: organizations.createdAt,
      githubOrgName: organizations.githubOrgName,
      memberCount: count(memberships.userId),
    })
    .from(organizations)
    .leftJoin(memberships, and(eq(memberships.organizationId, organizations.id), activeMembership()))
    .where(where)
    .groupBy(organizations.id)
    .orderBy(organizations.name);
}

/** An organization's members with their roles, by user name. */
export async function listMembers(db: Db, organizationId: string) {
  return db
    .select({
      userId: users.id,
      name: users.name,
      role: memberships.role,
      disabledAt: users.disabledAt,
      joinedAt: memberships.createdAt,
      source: memberships.source,
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.organizationId, organizationId), activeMembership()))
    .orderBy(users.name);
}

/**
 * Ends a membership (the user keeps everything else); not_found when there is none, conflict
 * when he is the organization's last admin.
 */
export async function removeMember(db: Db, organizationId: string, userId: string, acting?: Acting): Promise<void> {
  await db.transaction(async (tx) => {
    await lockOrganization(tx, organizationId);
    await refuseGitHubManaged(tx, organizationId, userId);
    await refuseLastAdmin(tx, organizationId, userId, "remove");
    const rows = await tx
      .delete(memberships)
      .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)))
      .returning({ userId: memberships.userId, role: memberships.role });
    if (rows.length === 0) throw new BrokerError("not_found", "the user is not a member of this organization");
    await auditMember(tx, acting, "member.removed", organizationId, userId, { role: rows[0]!.role });
  });
}

/**
 * Changes an existing member's role; not_found when he is not a member, conflict when it
 * would demote the last admin.
 */
export async function changeMemberRole(db: Db, organizationId: string, userId: string, role: OrgRole, acting?: Acting): Promise<void> {
  await db.transaction(async (tx) => {
    await lockOrganization(tx, organizationId);
    await refuseGitHubManaged(tx, organizationId, userId, role);
    if (role !== "admin") await refuseLastAdmin(tx, organizationId, userId, "demote");
    const [before] = await tx.select({ role: memberships.role }).from(memberships).where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)));
    const rows = await tx
      .update(memberships)
      .set({ role })
      .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)))
      .returning({ userId: memberships.userId });
    if (rows.length === 0) throw new BrokerError("not_found", "the user is not a member of this organization");
    if (before && before.role !== role) await auditMember(tx, acting, "member.role_changed", organizationId, userId, { from: before.role, to: role });
  });
}

/** Creates an organization whose first admin is `adminUserId`, in one transaction. */
export async function createOrganizationWithAdmin(db: Db, name: string, adminUserId: string, acting?: Acting) {
  return db.transaction(async (tx) => {
    const org = await createOrganization(tx as unknown as Db, name, acting);
    await tx.insert(memberships).values({ organizationId: org.id, userId: adminUserId, role: "admin" });
    await auditMember(tx, acting, "member.added", org.id, adminUserId, { role: "admin" });
    return org;
  });
}

/** The organizations a user belongs to, with his role and the member count, by name. */
export async function listOrganizationsOf(db: Db, userId: string) {
  const mine = db.select({ id: memberships.organizationId }).from(memberships).where(and(eq(memberships.userId, userId), activeMembership()));
  const rows = await organizationsWithCounts(db, inArray(organizations.id, mine));
  const roles = await db
    .select({ id: memberships.organizationId, role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.userId, userId), activeMembership()));
  const roleOf = new Map(roles.map((r) => [r.id, r.role]));
  return rows.map((r) => ({ ...r, role: roleOf.get(r.id)! }));
}

type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

/**
 * In an organization linked to GitHub, admins and members come from GitHub: by hand only
 * viewers are added, and GitHub's memberships are not changed (rules/github.ts).
 */
async function refuseGitHubManaged(tx: Tx, organizationId: string, userId: string, to?: OrgRole): Promise<void> {
  const [org] = await tx.select({ linked: organizations.githubOrgName }).from(organizations).where(eq(organizations.id, organizationId));
  if (!org?.linked) return;
  const [current] = await tx
    .select({ role: memberships.role, source: memberships.source })
    .from(memberships)
    .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)));
  const verdict = manualMembershipChange(org.linked, { to, current });
  if (!verdict.ok) throw new BrokerError("conflict", verdict.reason);
}

/** Serializes membership changes per organization, so two admins cannot demote each other at once. */
async function lockOrganization(tx: Tx, organizationId: string): Promise<void> {
  await tx.select({ id: organizations.id }).from(organizations).where(eq(organizations.id, organizationId)).for("update");
}

async function refuseLastAdmin(tx: Tx, organizationId: string, userId: string, what: "demote" | "remove"): Promise<void> {
  const [target] = await tx
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)));
  if (target?.role !== "admin") return;
  const [others] = await tx
    .select({ n: count() })
    .from(memberships)
    .where(and(eq(memberships.organizationId, organizationId), eq(memberships.role, "admin"), ne(memberships.userId, userId)));
  if ((others?.n ?? 0) === 0) {
    throw new BrokerError("conflict", `cannot ${what} the organization's last admin; make another member admin first`);
  }
}

/** Adds a new member; conflict when he already is one (changing a role is changeMemberRole). */
export async function addNewMember(db: Db, organizationId: string, userId: string, role: OrgRole, acting?: Acting) {
  return db.transaction(async (tx) => {
    await lockOrganization(tx, organizationId);
    await refuseGitHubManaged(tx, organizationId, userId, role);
    const [row] = await tx.insert(memberships).values({ organizationId, userId, role }).onConflictDoNothing().returning();
    if (!row) throw new BrokerError("conflict", "the user is already a member of this organization");
    await auditMember(tx, acting, "member.added", organizationId, userId, { role });
    return row;
  });
}

/** A current member of the organization by user name, with his role; undefined for anyone else. */
export async function findMemberByName(db: Db, organizationId: string, userName: string) {
  const [row] = await db
    .select({ userId: users.id, name: users.name, role: memberships.role, disabledAt: users.disabledAt, joinedAt: memberships.createdAt, source: memberships.source })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.organizationId, organizationId), eq(users.name, userName), activeMembership()));
  return row;
}
