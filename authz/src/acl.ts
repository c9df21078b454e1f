import { and, eq, or, inArray } from "drizzle-orm";
import type { Db } from "./db/client.js";
import { endpoints, memberships } from "./db/schema/index.js";

/** Who is calling: resolved from a credential, never from the request body. */
export interface Principal {
  userId: string;
  name: string;
  isAdmin: boolean;
}

/**
 * Ids of every endpoint the user may read: his own, his organizations' (any role), and
 * public ones. This list is the single source of read access for HTTP and NATS alike.
 */
export async function readableEndpointIds(db: Db, userId: string): Promise<string[]> {
  const orgIds = db
    .select({ id: memberships.organizationId })
    .from(memberships)
    .where(eq(memberships.userId, userId));
  const rows = await db
    .select({ id: endpoints.id })
    .from(endpoints)
    .where(or(eq(endpoints.ownerUserId, userId), inArray(endpoints.ownerOrgId, orgIds), eq(endpoints.isPublic, true)))
    .orderBy(endpoints.id);
  return rows.map((r) => r.id);
}

/** Org ids where the user is an admin (may manage the organization's endpoints). */
export async function adminOrgIds(db: Db, userId: string): Promise<string[]> {
  const rows = await db
    .select({ id: memberships.organizationId })
    .from(memberships)
    .where(and(eq(memberships.userId, userId), eq(memberships.role, "admin")));
  return rows.map((r) => r.id);
}

