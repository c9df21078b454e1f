import { and, count, eq } from "drizzle-orm";
import type { Db } from "./db/client.js";
import { memberships, organizations, users, type OrgRole } from "./db/schema/index.js";
import { BrokerError } from "./errors.js";

const ORG_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export async function createOrganization(db: Db, name: string) {
  if (!ORG_NAME.test(name)) throw new BrokerError("invalid_request", "organization name must be 1-64 chars of a-z, 0-9, '.', '_', '-'");
  const [row] = await db.insert(organizations).values({ name }).onConflictDoNothing().returning();
  if (!row) throw new BrokerError("conflict", `organization ${name} already exists`);
  return row;
}

export async function addMember(db: Db, organizationId: string, userId: string, role: OrgRole) {
  await db
    .insert(memberships)
    .values({ organizationId, userId, role })
    .onConflictDoUpdate({ target: [memberships.organizationId, memberships.userId], set: { role } });
}

/** Every organization with its member count, by name. */
export async function listOrganizations(db: Db) {
  return db
    .select({
      id: organizations.id,
      name: organizations.name,
      createdAt: organizations.createdAt,
      memberCount: count(memberships.userId),
    })
    .from(organizations)
    .leftJoin(memberships, eq(memberships.organizationId, organizations.id))
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
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.organizationId, organizationId))
    .orderBy(users.name);
}

/** Ends a membership (the user keeps everything else); not_found when there is none. */
export async function removeMember(db: Db, organizationId: string, userId: string): Promise<void> {
  const rows = await db
    .delete(memberships)
    .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)))
    .returning({ userId: memberships.userId });
  if (rows.length === 0) throw new BrokerError("not_found", "the user is not a member of this organization");
}
