import { and, eq, exists, gt, inArray, isNull, or, sql, type SQL } from "drizzle-orm";
import type { Db } from "./db/client.js";
import { endpoints, githubRepoAccess, memberships, users } from "./db/schema/index.js";

/**
 * Memberships that count now: broker ones always, GitHub ones until their confirmation runs out
 * (verified_until; see rules/github.ts). Every query of who belongs where uses this.
 */
export function activeMembership() {
  return or(isNull(memberships.verifiedUntil), gt(memberships.verifiedUntil, sql`now()`));
}

/** Who is calling: resolved from a credential, never from the request body. */
export interface Principal {
  userId: string;
  name: string;
  isAdmin: boolean;
}

/**
 * The read rule, for one user (an id) or for every user (the `users.id` column of a join): his
 * own endpoints, his organizations' (any role, while the membership counts), and `publicOnes`;
 * a repository-scoped endpoint only while GitHub's last answer (still valid) says he may read its
 * repository. readableEndpointIds and readablePairs both go through it, so they cannot drift.
 */
function mayRead(db: Db, user: string | typeof users.id, publicOnes: SQL | undefined): SQL | undefined {
  const orgIds = db
    .select({ id: memberships.organizationId })
    .from(memberships)
    .where(and(eq(memberships.userId, user), activeMembership()));
  const mayReadRepo = db
    .select({ one: sql`1` })
    .from(githubRepoAccess)
    .where(
      and(
        eq(githubRepoAccess.userId, user),
        eq(githubRepoAccess.repo, sql`lower(${endpoints.githubRepo})`),
        eq(githubRepoAccess.canRead, true),
        gt(githubRepoAccess.verifiedUntil, sql`now()`),
      ),
    );
  return and(or(eq(endpoints.ownerUserId, user), inArray(endpoints.ownerOrgId, orgIds), publicOnes), or(isNull(endpoints.githubRepo), exists(mayReadRepo)));
}

/**
 * Ids of every endpoint the user may read (see mayRead; public ones included). This list is the
 * single source of read access for HTTP and NATS alike.
 */
export async function readableEndpointIds(db: Db, userId: string): Promise<string[]> {
  const rows = await db
    .select({ id: endpoints.id })
    .from(endpoints)
    .where(mayRead(db, userId, eq(endpoints.isPublic, true)))
    .orderBy(endpoints.id);
  return rows.map((r) => r.id);
}

/**
 * Who may read what, for every enabled user at once (one query, where calling
 * readableEndpointIds per user would be one per user): the same rule, with the user a column.
 * A public endpoint is listed only for the users in `publicFor` (everyone may read it: listing it
 * for every user would be users × public endpoints rows); owners, organization members and GitHub
 * repository readers are listed for every endpoint, public or not.
 */
export async function readablePairs(db: Db, opts: { publicFor: readonly string[] }): Promise<{ userId: string; endpointId: string }[]> {
  const publicForThem = opts.publicFor.length > 0 ? and(eq(endpoints.isPublic, true), inArray(users.id, [...opts.publicFor])) : sql`false`;
  return db
    .select({ userId: users.id, endpointId: endpoints.id })
    .from(users)
    .innerJoin(endpoints, mayRead(db, users.id, publicForThem)!)
    .where(isNull(users.disabledAt));
}

/** Org ids where the user is an admin (may manage the organization's endpoints). */
export async function adminOrgIds(db: Db, userId: string): Promise<string[]> {
  const rows = await db
    .select({ id: memberships.organizationId })
    .from(memberships)
    .where(and(eq(memberships.userId, userId), eq(memberships.role, "admin"), activeMembership()));
  return rows.map((r) => r.id);
}

