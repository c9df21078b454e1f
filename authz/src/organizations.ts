import type { Db } from "./db/client.js";
import { memberships, organizations, type OrgRole } from "./db/schema/index.js";
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
