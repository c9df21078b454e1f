import { and, eq, exists, gt, inArray, isNull, or, sql } from "drizzle-orm";
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
 * Ids of every endpoint the user may read: his own, his organizations' (any role, while the
 * membership counts), and public ones; a repository-scoped endpoint only while GitHub's last
 * answer (still valid) says he may read its repository. This list is the single source of read
 * access for HTTP and NATS alike.
 */
export async function readableEndpointIds(db: Db, userId: string): Promise<string[]> {
  const orgIds = db
    .select({ id: memberships.organizationId })
    .from(memberships)
    .where(and(eq(memberships.userId, userId), activeMembership()));
  const mayReadRepo = db
    .select({ one: sql`1` })
    .from(githubRepoAccess)
    .where(
      and(
        eq(githubRepoAccess.userId, userId),
        eq(githubRepoAccess.repo, sql`lower(${endpoints.githubRepo})`),
        eq(githubRepoAccess.canRead, true),
        gt(githubRepoAccess.verifiedUntil, sql`now()`),
      ),
    );
  const rows = await db
    .select({ id: endpoints.id })
    .from(endpoints)
    .where(
      and(
        or(eq(endpoints.ownerUserId, userId), inArray(endpoints.ownerOrgId, orgIds), eq(endpoints.isPublic, true)),
        or(isNull(endpoints.githubRepo), exists(mayReadRepo)),
      ),
    )
    .orderBy(endpoints.id);
  return rows.map((r) => r.id);
}

/**
 * Who may read what, for every enabled user at once (one query, where calling
 * readableEndpointIds per user would be one per user): the same rules, with the user a column.
 * A public endpoint is listed only for the users in `publicFor` (everyone may read it: listing it
 * for every user would be users × public endpoints rows); owners, organization members and GitHub
 * repository readers are listed for every endpoint, public or not.
 */
export async function readablePairs(db: Db, opts: { publicFor: readonly string[] }): Promise<{ userId: string; endpointId: string }[]> {
  const orgIds = db
    .select({ id: memberships.organizationId })
    .from(memberships)
    .where(and(eq(memberships.userId, users.id), activeMembership()));
  const mayReadRepo = db
    .select({ one: sql`1` })
    .from(githubRepoAccess)
    .where(
      and(
        eq(githubRepoAccess.userId, users.id),
        eq(githubRepoAccess.repo, sql`lower(${endpoints.githubRepo})`),
        eq(githubRepoAccess.canRead, true),
        gt(githubRepoAccess.verifiedUntil, sql`now()`),
      ),
    );
  const publicForThem = opts.publicFor.length > 0 ? and(eq(endpoints.isPublic, true), inArray(users.id, [...opts.publicFor])) : sql`false`;
  return db
    .select({ userId: users.id, endpointId: endpoints.id })
    .from(users)
    .innerJoin(
      endpoints,
      and(or(eq(endpoints.ownerUserId, users.id), inArray(endpoints.ownerOrgId, orgIds), publicForThem), or(isNull(endpoints.githubRepo), exists(mayReadRepo))),
    )
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

