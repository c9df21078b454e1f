/**
 * The database side of access that follows GitHub (the rules are in rules/github.ts; the calls
 * to GitHub in the gateway's github/sync.ts): linking an organization, applying what GitHub said
 * about a user's organizations and repositories, and the sync schedule's bookkeeping.
 */
import { and, asc, eq, inArray, isNotNull, isNull, notInArray, sql } from "drizzle-orm";
import { activeMembership } from "./acl.js";
import { recordAudit, type Acting } from "./audit.js";
import type { Db } from "./db/client.js";
import { endpoints, githubRepoAccess, githubTokens, memberships, organizations, reservations, users } from "./db/schema/index.js";
import { findOrganizationByName } from "./endpoints.js";
import { BrokerError } from "./errors.js";
import { createReservation } from "./reservations.js";
import { GITHUB_ROOT, isGitHubOrgName, planMemberships, type GitHubRole } from "./rules/github.js";

type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

/** The sync's own entries in the audit log. */
const GITHUB_ACTING: Acting = { actor: { isAdmin: true, roles: {}, name: "github" }, via: "github", source: "github" };

/**
 * Links an organization to a GitHub organization (null unlinks). From then on its admins and
 * members come from GitHub at each user's next sync. One GitHub organization links to one
 * organization here.
 */
export async function linkOrganization(db: Db, organizationId: string, githubOrg: string | null, acting?: Acting) {
  if (githubOrg !== null && !isGitHubOrgName(githubOrg)) throw new BrokerError("invalid_request", `${githubOrg} is not a GitHub organization name`);
  return db.transaction(async (tx) => {
    if (githubOrg) {
      const [taken] = await tx
        .select({ name: organizations.name })
        .from(organizations)
        .where(and(sql`lower(${organizations.githubOrgName}) = ${githubOrg.toLowerCase()}`, sql`${organizations.id} <> ${organizationId}`));
      if (taken) throw new BrokerError("conflict", `the GitHub organization ${githubOrg} is already linked to another organization`);
    }
    const [row] = await tx.update(organizations).set({ githubOrgName: githubOrg }).where(eq(organizations.id, organizationId)).returning();
    if (!row) throw new BrokerError("not_found", `organization ${organizationId} not found`);
    if (!githubOrg) {
      // Unlinked: nobody's access follows GitHub any more; GitHub's memberships become broker ones.
      await tx.update(memberships).set({ source: "broker", verifiedUntil: null }).where(eq(memberships.organizationId, organizationId));
    }
    if (acting) {
      await recordAudit(tx, acting, { action: "organization.github_linked", targetType: "organization", targetId: row.id, organizationId: row.id, details: { github_org: githubOrg } });
    }
    return row;
  });
}

export async function linkedOrganizations(db: Db | Tx) {
  const rows = await db
    .select({ id: organizations.id, name: organizations.name, githubOrg: organizations.githubOrgName })
    .from(organizations)
    .where(isNotNull(organizations.githubOrgName));
  return rows.map((r) => ({ id: r.id, name: r.name, githubOrg: r.githubOrg! }));
}

/**
 * Applies a user's active GitHub memberships to the linked organizations (planMemberships),
 * confirming them until `now + ttlMs`. Returns the organizations where his access changed.
 */
export async function applyGitHubMemberships(db: Db, userId: string, github: readonly { org: string; role: GitHubRole }[], ttlMs: number): Promise<string[]> {
  return db.transaction(async (tx) => {
    const linked = await linkedOrganizations(tx);
    if (linked.length === 0) return [];
    const current = await tx
      .select({ orgId: memberships.organizationId, role: memberships.role, source: memberships.source, verifiedUntil: memberships.verifiedUntil })
      .from(memberships)
      .where(and(eq(memberships.userId, userId), inArray(memberships.organizationId, linked.map((o) => o.id))));
    // A confirmation that had run out (GitHub was unreachable) counts as absent: coming back is a change.
    const live = current.filter((c) => !c.verifiedUntil || c.verifiedUntil.getTime() > Date.now());
    const plan = planMemberships(linked, live, github);
    const expiredBack = current.filter((c) => !live.includes(c) && plan.upsert.some((u) => u.orgId === c.orgId)).map((c) => c.orgId);
    const verifiedUntil = new Date(Date.now() + ttlMs);
    for (const { orgId, role } of plan.upsert) {
      const before = current.find((c) => c.orgId === orgId);
      await tx
        .insert(memberships)
        .values({ organizationId: orgId, userId, role, source: "github", verifiedUntil })
        .onConflictDoUpdate({ target: [memberships.organizationId, memberships.userId], set: { role, source: "github", verifiedUntil } });
      if (!before || before.role !== role) {
        await recordAudit(tx, GITHUB_ACTING, {
          action: before ? "member.role_changed" : "member.added",
          targetType: "membership",
          targetId: `${orgId}:${userId}`,
          organizationId: orgId,
          details: { user_id: userId, role, ...(before ? { from: before.role } : {}), source: "github" },
        });
      }
    }
    if (plan.remove.length) {
      await tx.delete(memberships).where(and(eq(memberships.userId, userId), inArray(memberships.organizationId, plan.remove)));
      for (const orgId of plan.remove) {
        await recordAudit(tx, GITHUB_ACTING, { action: "member.removed", targetType: "membership", targetId: `${orgId}:${userId}`, organizationId: orgId, details: { user_id: userId, source: "github" } });
      }
    }
    return [...new Set([...plan.changed, ...expiredBack])];
  });
}

/** The repositories whose access matters for the user: those of repository-scoped endpoints of his organizations. */
export async function repositoriesToCheck(db: Db, userId: string): Promise<string[]> {
  const orgIds = db.select({ id: memberships.organizationId }).from(memberships).where(and(eq(memberships.userId, userId), activeMembership()));
  const rows = await db
    .selectDistinct({ repo: sql<string>`lower(${endpoints.githubRepo})` })
    .from(endpoints)
    .where(and(isNotNull(endpoints.githubRepo), inArray(endpoints.ownerOrgId, orgIds)))
    .orderBy(asc(sql`lower(${endpoints.githubRepo})`));
  return rows.map((r) => r.repo);
}

/**
 * Records what GitHub said about the user's repositories (lower-case `owner/repo` → may read),
 * valid until `now + ttlMs`; answers for repositories no longer asked about are dropped.
 * Returns whether any answer differs from the last one still valid.
 */
export async function applyRepoAccess(db: Db, userId: string, answers: ReadonlyMap<string, boolean>, ttlMs: number): Promise<boolean> {
  return db.transaction(async (tx) => {
    const before = await tx.select().from(githubRepoAccess).where(eq(githubRepoAccess.userId, userId));
    const now = Date.now();
    const was = new Map(before.filter((r) => r.verifiedUntil.getTime() > now).map((r) => [r.repo, r.canRead]));
    const verifiedUntil = new Date(now + ttlMs);
    for (const [repo, canRead] of answers) {
      await tx
        .insert(githubRepoAccess)
        .values({ userId, repo, canRead, verifiedUntil })
        .onConflictDoUpdate({ target: [githubRepoAccess.userId, githubRepoAccess.repo], set: { canRead, verifiedUntil } });
    }
    const asked = [...answers.keys()];
    await tx.delete(githubRepoAccess).where(and(eq(githubRepoAccess.userId, userId), asked.length ? notInArray(githubRepoAccess.repo, asked) : undefined));
    const readable = (m: ReadonlyMap<string, boolean>) => [...m].filter(([, r]) => r).map(([k]) => k).sort().join(",");
    return readable(was) !== readable(answers);
  });
}

/**
 * GitHub refused the user's token (he revoked the app, or it expired for good): everything
 * GitHub gave him ends now. Returns the organizations concerned.
 */
export async function dropGitHubAccess(db: Db, userId: string): Promise<string[]> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .delete(memberships)
      .where(and(eq(memberships.userId, userId), eq(memberships.source, "github")))
      .returning({ orgId: memberships.organizationId });
    for (const { orgId } of rows) {
      await recordAudit(tx, GITHUB_ACTING, { action: "member.removed", targetType: "membership", targetId: `${orgId}:${userId}`, organizationId: orgId, details: { user_id: userId, source: "github", reason: "token refused" } });
    }
    await tx.delete(githubRepoAccess).where(eq(githubRepoAccess.userId, userId));
    return rows.map((r) => r.orgId);
  });
}

/** The outcome of one sync of a user: success clears the error, failure records it (the access already granted runs out by itself). */
export async function recordGitHubSync(db: Db, userId: string, outcome: { ok: true } | { error: string }): Promise<void> {
  const set = "ok" in outcome ? { syncedAt: new Date(), syncError: null, syncErrorAt: null, syncClaimedUntil: null } : { syncError: outcome.error, syncErrorAt: new Date(), syncClaimedUntil: null };
  await db.update(githubTokens).set(set).where(eq(githubTokens.userId, userId));
}

/**
 * Claims up to `limit` users whose last sync is older than `staleMs` (or never ran), for
 * `claimMs`; several gateways share the schedule without doing a user twice.
 */
export async function claimDueGitHubSyncs(db: Db, opts: { staleMs: number; claimMs: number; limit: number }): Promise<string[]> {
  const now = Date.now();
  const rows = await db.execute<{ user_id: string }>(sql`
    update ${githubTokens} set sync_claimed_until = ${new Date(now + opts.claimMs)}
    where user_id in (
      select t.user_id from ${githubTokens} t join ${users} u on u.id = t.user_id
      where u.disabled_at is null
        and (t.synced_at is null or t.synced_at < ${new Date(now - opts.staleMs)})
        and (t.sync_claimed_until is null or t.sync_claimed_until < ${new Date(now)})
      order by t.synced_at asc nulls first
      limit ${opts.limit}
      for update of t skip locked)
    returning user_id`);
  return rows.rows.map((r) => r.user_id);
}

/** Users with GitHub tokens (for `orgs sync`). */
export async function githubUsers(db: Db): Promise<{ id: string; name: string }[]> {
  return db
    .select({ id: users.id, name: users.name })
    .from(githubTokens)
    .innerJoin(users, eq(users.id, githubTokens.userId))
    .where(isNull(users.disabledAt))
    .orderBy(users.name);
}

/** What `GET /api/v1/me` says about GitHub: who, when last confirmed, the last failure, until when GitHub's grants count. */
export async function githubStatusOf(db: Db, userId: string) {
  const [row] = await db
    .select({ login: users.githubLogin, hasTokens: githubTokens.userId, syncedAt: githubTokens.syncedAt, syncError: githubTokens.syncError, syncErrorAt: githubTokens.syncErrorAt })
    .from(users)
    .leftJoin(githubTokens, eq(githubTokens.userId, users.id))
    .where(eq(users.id, userId));
  if (!row?.login) return null;
  const [until] = await db
    .select({ at: sql<Date | null>`max(${memberships.verifiedUntil})` })
    .from(memberships)
    .where(and(eq(memberships.userId, userId), eq(memberships.source, "github")));
  return { ...row, accessUntil: until?.at ? new Date(until.at) : null };
}

/**
 * Links (or with null unlinks) an organization to a GitHub organization, as a global admin:
 * also reserves `github/<GitHub org>` for it (where its repository-scoped endpoints live) unless
 * it holds that prefix already; a prefix someone else holds is a 409 and nothing is linked.
 */
export async function linkOrganizationAs(db: Db, acting: Acting, orgName: string, githubOrg: string | null) {
  if (!acting.actor.isAdmin) throw new BrokerError("forbidden", "only global admins link organizations to GitHub");
  const org = await findOrganizationByName(db, orgName);
  if (githubOrg !== null && !isGitHubOrgName(githubOrg)) throw new BrokerError("invalid_request", `${githubOrg} is not a GitHub organization name`);
  if (githubOrg) {
    const prefix = `${GITHUB_ROOT}/${githubOrg}`.toLowerCase();
    const held = await db.select({ prefix: reservations.prefix }).from(reservations).where(and(eq(reservations.ownerOrgId, org.id), sql`lower(${reservations.prefix}) = ${prefix}`));
    if (held.length === 0) await createReservation(db, acting, { prefix: `${GITHUB_ROOT}/${githubOrg}`, owner: { organization: org.name }, note: `repository-scoped endpoints of GitHub organization ${githubOrg}` });
  }
  return linkOrganization(db, org.id, githubOrg, acting);
}

/**
 * Asks for the organization's members to be synced at the schedule's next round (after one of
 * its endpoints became repository-scoped: they need GitHub's answer for that repository).
 */
export async function resyncMembersSoon(db: Db | Tx, organizationId: string): Promise<void> {
  const members = db.select({ id: memberships.userId }).from(memberships).where(eq(memberships.organizationId, organizationId));
  await db.update(githubTokens).set({ syncedAt: null }).where(inArray(githubTokens.userId, members));
}

/**
 * Whether the user's GitHub membership in the organization ran out because GitHub could not be
 * asked (not because GitHub said no): then a refusal says so (503 github_unavailable) instead of
 * pretending the organization does not exist.
 */
export async function lapsedGitHubMembership(db: Db, userId: string, organizationId: string): Promise<{ since: Date; error: string } | null> {
  const [row] = await db
    .select({ until: memberships.verifiedUntil, error: githubTokens.syncError, at: githubTokens.syncErrorAt })
    .from(memberships)
    .innerJoin(githubTokens, eq(githubTokens.userId, memberships.userId))
    .where(and(eq(memberships.userId, userId), eq(memberships.organizationId, organizationId), eq(memberships.source, "github")));
  if (!row?.until || row.until.getTime() > Date.now() || !row.error || !row.at) return null;
  return { since: row.at, error: row.error };
}
