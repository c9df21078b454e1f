import { z } from "@hono/zod-openapi";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  addNewMember,
  announceGrantsChanged,
  BrokerError,
  changeMemberRole,
  createOrganizationWithAdmin,
  findMemberByName,
  findOrganizationByName,
  findUserByName,
  listMembers,
  listOrganizations,
  lapsedGitHubMembership,
  linkOrganizationAs,
  listOrganizationsOf,
  organizationAccess,
  removeMember,
  requireAccess,
  type Acting,
  type Db,
  type GrantsChanged,
} from "@wb/authz";
import { instant, json, router, routes } from "../openapi.js";
import { actingOf } from "../middleware/auth.js";
import { parseJson } from "../validate.js";

export interface OrgsDeps {
  db: Db;
  nc: NatsConnection;
}

const ROLE = z.enum(["admin", "member", "viewer"]);

// strictObject: `owner_id`, `organization_id`, `user_id`, `is_admin` ... are rejected, not ignored.
const createBody = z.strictObject({ name: z.string().min(1).max(64) });
const addMemberBody = z.strictObject({ user: z.string().min(1).max(64), role: ROLE });
const changeRoleBody = z.strictObject({ role: ROLE });
/** Links to a GitHub organization (null unlinks). */
const patchOrgBody = z.strictObject({ github_org: z.string().min(1).max(39).nullable() });

const Organization = z
  .object({
    id: z.string(),
    name: z.string(),
    github_org: z.string().nullable().openapi({ description: "The linked GitHub organization, if any" }),
    role: ROLE.nullable().openapi({ description: "The caller's role; null for a global admin who is no member" }),
    members: z.number().int(),
    created_at: instant,
  })
  .openapi("Organization");
const Member = z
  .object({
    user_id: z.string(),
    name: z.string(),
    role: ROLE,
    source: z.string().openapi({ description: "`broker`, or `github` for a membership that follows GitHub" }),
    disabled: z.boolean(),
    joined_at: instant,
  })
  .openapi("Member");
const orgName = z.object({ name: z.string() });
const memberName = z.object({ name: z.string(), user: z.string() });
const tags = ["organizations"];

type Org = Awaited<ReturnType<typeof findOrganizationByName>>;
type Role = z.infer<typeof ROLE>;

/**
 * Organizations and their members. Who may do what:
 * - any authenticated user creates an organization and becomes its admin;
 * - members (any role) see the organization and its member list; everyone else gets 404;
 * - the organization's admins (and global admins) add, re-role and remove members; other
 *   members get 403; a member may also remove himself (leave);
 * - the last admin can be neither demoted nor removed (409).
 * Membership changes are announced (announceGrantsChanged); removing a member deletes nothing
 * but the membership.
 */
export function orgRoutes(deps: OrgsDeps) {
  const app = router();

  // Every gateway's reconciler updates the affected users' durable consumers at once.
  const announce = (change: GrantsChanged) => announceGrantsChanged(deps.nc, change);

  const route = routes(app, tags);

  route(
    {
      method: "post",
      path: "/",
      summary: "Create an organization (the caller becomes its admin)",
      body: createBody,
      responses: { 201: json(Organization, "Created") },
      errors: [400, 409],
    },
    async (c) => {
      const body = await parseJson(c, createBody);
      const principal = c.get("principal");
      const org = await createOrganizationWithAdmin(deps.db, body.name, principal.userId, await actingOf(c, deps.db));
      await announce({ organization_id: org.id, user_ids: [principal.userId], change: "organization_created" });
      return c.json(viewOrg(org, { role: "admin", members: 1 }), 201);
    },
  );

  route(
    {
      method: "get",
      path: "/",
      summary: "The caller's organizations (all of them for a global admin)",
      responses: { 200: json(z.object({ organizations: z.array(Organization) }), "Organizations") },
    },
    async (c) => {
      const principal = c.get("principal");
      if (principal.isAdmin) {
        const [all, mine] = await Promise.all([listOrganizations(deps.db), listOrganizationsOf(deps.db, principal.userId)]);
        const roleOf = new Map(mine.map((o) => [o.id, o.role]));
        return c.json({ organizations: all.map((o) => viewOrg(o, { role: roleOf.get(o.id) ?? null, members: o.memberCount })) });
      }
      const rows = await listOrganizationsOf(deps.db, principal.userId);
      return c.json({ organizations: rows.map((o) => viewOrg(o, { role: o.role, members: o.memberCount })) });
    },
  );

  route({ method: "get", path: "/{name}", summary: "One organization", params: orgName, responses: { 200: json(Organization, "The organization") }, errors: [404, 503] }, async (c) => {
    const { org, role } = await visibleOrg(deps.db, await actingOf(c, deps.db), c.req.valid("param").name);
    const members = await listMembers(deps.db, org.id);
    return c.json(viewOrg(org, { role, members: members.length }));
  });

  // Global admins only; the organization's own admins get 403, outsiders 404.
  route(
    {
      method: "patch",
      path: "/{name}",
      summary: "Link the organization to a GitHub organization, or unlink it (global admins)",
      params: orgName,
      body: patchOrgBody,
      responses: { 200: json(Organization, "Changed") },
      errors: [400, 403, 404, 409, 503],
    },
    async (c) => {
      const acting = await actingOf(c, deps.db);
      const { org: visible } = await visibleOrg(deps.db, acting, c.req.valid("param").name);
      if (!acting.actor.isAdmin) throw new BrokerError("forbidden", "only global admins link organizations to GitHub");
      const body = await parseJson(c, patchOrgBody);
      const org = await linkOrganizationAs(deps.db, acting, visible.name, body.github_org);
      // Who may read what may change at the members' next sync; tell the gateways now anyway.
      const members = await listMembers(deps.db, org.id);
      await announce({ organization_id: org.id, user_ids: members.map((m) => m.userId), change: "organization_linked" });
      return c.json(viewOrg(org, { role: acting.actor.roles[org.id] ?? null, members: members.length }));
    },
  );

  route(
    {
      method: "get",
      path: "/{name}/members",
      summary: "The organization's members",
      params: orgName,
      responses: { 200: json(z.object({ members: z.array(Member) }), "Members") },
      errors: [404, 503],
    },
    async (c) => {
      const { org } = await visibleOrg(deps.db, await actingOf(c, deps.db), c.req.valid("param").name);
      const rows = await listMembers(deps.db, org.id);
      return c.json({ members: rows.map(viewMember) });
    },
  );

  route(
    {
      method: "post",
      path: "/{name}/members",
      summary: "Add a member (the organization's admins)",
      params: orgName,
      body: addMemberBody,
      responses: { 201: json(Member, "Added") },
      errors: [400, 403, 404, 409, 503],
    },
    async (c) => {
      const acting = await actingOf(c, deps.db);
      const { org } = await managedOrg(deps.db, acting, c.req.valid("param").name);
      const body = await parseJson(c, addMemberBody);
      const user = await findUserByName(deps.db, body.user);
      // Insert only: an existing member's role is changed with PATCH, so a retried POST cannot demote.
      const row = await addNewMember(deps.db, org.id, user.id, body.role, acting).catch((err: unknown) => {
        if (err instanceof BrokerError && err.code === "conflict" && /already a member/.test(err.message)) {
          throw new BrokerError("conflict", `${user.name} is already a member of ${org.name}; change the role with PATCH`);
        }
        throw err;
      });
      await announce({ organization_id: org.id, user_ids: [user.id], change: "member_added" });
      return c.json(viewMember({ userId: user.id, name: user.name, role: row.role, disabledAt: user.disabledAt, joinedAt: row.createdAt }), 201);
    },
  );

  route(
    {
      method: "patch",
      path: "/{name}/members/{user}",
      summary: "Change a member's role (the organization's admins; the last admin stays)",
      params: memberName,
      body: changeRoleBody,
      responses: { 200: json(Member, "Changed") },
      errors: [400, 403, 404, 409, 503],
    },
    async (c) => {
      const acting = await actingOf(c, deps.db);
      const { org } = await managedOrg(deps.db, acting, c.req.valid("param").name);
      const body = await parseJson(c, changeRoleBody);
      const user = await memberOf(deps.db, org, c.req.valid("param").user);
      await changeMemberRole(deps.db, org.id, user.userId, body.role, acting);
      await announce({ organization_id: org.id, user_ids: [user.userId], change: "role_changed" });
      return c.json(viewMember((await findMemberByName(deps.db, org.id, user.name))!));
    },
  );

  route(
    {
      method: "delete",
      path: "/{name}/members/{user}",
      summary: "Remove a member, or leave (the last admin stays)",
      params: memberName,
      responses: { 204: { description: "Removed" } },
      errors: [403, 404, 409, 503],
    },
    async (c) => {
      const acting = await actingOf(c, deps.db);
      const name = c.req.valid("param").user;
      // Leaving is always allowed (unless last admin); removing someone else needs admin rights.
      const { org } = name === acting.actor.name ? await visibleOrg(deps.db, acting, c.req.valid("param").name) : await managedOrg(deps.db, acting, c.req.valid("param").name);
      const user = await memberOf(deps.db, org, name);
      await removeMember(deps.db, org.id, user.userId, acting);
      await announce({ organization_id: org.id, user_ids: [user.userId], change: "member_removed" });
      return c.body(null, 204);
    },
  );

  return app;
}

/** The organization if the caller may see it (organizationAccess); otherwise the same 404 as a miss. */
async function visibleOrg(db: Db, acting: Acting, name: string, needed: "read" | "manage" = "read"): Promise<{ org: Org; role: Role | null }> {
  const org = await findOrganizationByName(db, name);
  if (!acting.actor.roles[org.id] && !acting.actor.isAdmin && acting.actor.userId) {
    // He belongs through GitHub, but GitHub could not confirm it in time: say so (fail closed, clearly).
    const lapsed = await lapsedGitHubMembership(db, acting.actor.userId, org.id);
    if (lapsed) {
      throw new BrokerError("github_unavailable", `your membership of ${name} comes from GitHub, which could not be asked since ${lapsed.since.toISOString()} (${lapsed.error}); it counts again once GitHub answers`, { retryAfterSeconds: 60 });
    }
  }
  requireAccess(organizationAccess(acting.actor, org.id), needed, { notFound: `organization ${name} not found`, forbidden: `only admins of ${name} manage its members` });
  return { org, role: acting.actor.roles[org.id] ?? null };
}

/** The organization if the caller administers it; a member who does not gets 403. */
function managedOrg(db: Db, acting: Acting, name: string): Promise<{ org: Org; role: Role | null }> {
  return visibleOrg(db, acting, name, "manage");
}

/** A current member of the organization, by user name; anyone else is not found (in this organization). */
async function memberOf(db: Db, org: Org, userName: string) {
  const row = await findMemberByName(db, org.id, userName);
  if (!row) throw new BrokerError("not_found", `${userName} is not a member of ${org.name}`);
  return row;
}

function viewOrg(org: { id: string; name: string; createdAt: Date; githubOrgName?: string | null }, extra: { role: Role | null; members: number }) {
  return { id: org.id, name: org.name, github_org: org.githubOrgName ?? null, role: extra.role, members: extra.members, created_at: org.createdAt.toISOString() };
}

function viewMember(m: { userId: string; name: string; role: Role; disabledAt: Date | null; joinedAt: Date; source?: string }) {
  return { user_id: m.userId, name: m.name, role: m.role, source: m.source ?? "broker", disabled: m.disabledAt !== null, joined_at: m.joinedAt.toISOString() };
}
