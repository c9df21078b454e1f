/**
 * Who may see and change what: pure decisions over an actor and the facts of a resource. Routes
 * and the CLI call these and only map the answer to a status (see {@link requireAccess}).
 *
 * Roles in an organization:
 * | role     | reads the org's endpoints | creates/changes/deletes the org's endpoints | public flag | members |
 * |----------|---------------------------|---------------------------------------------|-------------|---------|
 * | admin    | yes                       | yes, anywhere the org may hold path space   | yes (not `none`) | yes |
 * | member   | yes                       | inside the org's space (`o/<org>/`, its reservations) | no | no |
 * | viewer   | yes                       | no                                          | no          | no      |
 * A global admin may do everything (and is the only one who makes an unsigned `none` endpoint
 * public); the CLI acts as a global admin. Nobody's admin rights grant reading messages.
 */
import type { OrgRole } from "../db/schema/memberships.js";
import { BrokerError } from "../errors.js";
import { inOwnSpace, type OwnerRef, type PlacedReservation } from "./ownership.js";

/** Who is acting: a user through the API (with his roles), or the CLI (an operator). */
export interface Actor {
  /** Absent for the CLI. */
  userId?: string;
  name?: string;
  isAdmin: boolean;
  /** His role in each organization he belongs to, by organization id. */
  roles: Readonly<Record<string, OrgRole>>;
}

/** The admin CLI: whoever holds DATABASE_URL and SECRET_KEY runs the broker. */
export const CLI_ACTOR: Actor = { isAdmin: true, roles: {} };

export type Access = "none" | "read" | "manage";

const RANK: Record<Access, number> = { none: 0, read: 1, manage: 2 };

/** What a role may do with the organization's endpoints. */
export const ROLE_CAPABILITIES: Readonly<Record<OrgRole, { read: boolean; manageInOwnSpace: boolean; manageAnywhere: boolean; publish: boolean; members: boolean }>> = {
  admin: { read: true, manageInOwnSpace: true, manageAnywhere: true, publish: true, members: true },
  member: { read: true, manageInOwnSpace: true, manageAnywhere: false, publish: false, members: false },
  viewer: { read: true, manageInOwnSpace: false, manageAnywhere: false, publish: false, members: false },
};

/** The facts of an endpoint that access depends on. */
export interface EndpointFacts {
  owner: OwnerRef;
  isPublic: boolean;
  /** Comparison key of its path (pathKey). */
  key: readonly string[];
}

/** How far the actor may go with an endpoint. `reservations`: those of the endpoint's owner (or all). */
export function endpointAccess(actor: Actor, e: EndpointFacts, reservations: readonly PlacedReservation[] = []): Access {
  if (actor.isAdmin) return "manage";
  let access: Access = e.isPublic ? "read" : "none";
  if (e.owner.type === "user") {
    if (actor.userId === e.owner.id) access = "manage";
    return access;
  }
  const role = actor.roles[e.owner.id];
  if (!role) return access;
  const can = ROLE_CAPABILITIES[role];
  if (can.manageAnywhere || (can.manageInOwnSpace && inOwnSpace(e.key, e.owner, reservations))) return "manage";
  return can.read ? max(access, "read") : access;
}

/** May the actor see that an organization exists (he is in it, or a global admin)? */
export function organizationAccess(actor: Actor, orgId: string): Access {
  if (actor.isAdmin) return "manage";
  const role = actor.roles[orgId];
  if (!role) return "none";
  return ROLE_CAPABILITIES[role].members ? "manage" : "read";
}

export type Decision = { allow: true } | { allow: false; code: "not_found" | "forbidden"; reason: string };

const ALLOW: Decision = { allow: true };

/**
 * May the actor create an endpoint for `owner` at `key`? (Where it may be placed at all is
 * checkEndpointPlacement's question; this is whether this actor may act for this owner there.)
 */
export function mayCreateEndpoint(actor: Actor, owner: OwnerRef, key: readonly string[], reservations: readonly PlacedReservation[]): Decision {
  if (actor.isAdmin) return ALLOW;
  if (owner.type === "user") {
    return owner.id === actor.userId ? ALLOW : { allow: false, code: "forbidden", reason: "only global admins create endpoints for other users" };
  }
  const role = actor.roles[owner.id];
  // Not a member: the same 404 as an organization that does not exist.
  if (!role) return { allow: false, code: "not_found", reason: `organization ${owner.name} not found` };
  const can = ROLE_CAPABILITIES[role];
  if (can.manageAnywhere) return ALLOW;
  if (can.manageInOwnSpace) {
    return inOwnSpace(key, owner, reservations)
      ? ALLOW
      : { allow: false, code: "forbidden", reason: `members create the organization's endpoints only in its own space (/webhook/o/${owner.name}/... or its reservations); ask an admin of ${owner.name}` };
  }
  return { allow: false, code: "forbidden", reason: `viewers of ${owner.name} do not create its endpoints` };
}

/**
 * May the actor make an endpoint public? Public is a privilege: every user receives a public
 * endpoint's deliveries. A global admin may; an organization admin for the organization's own
 * endpoints; an unsigned (`none`) endpoint only a global admin. (Making one private again only
 * takes away, so whoever manages the endpoint may.)
 */
export function mayMakePublic(actor: Actor, owner: OwnerRef, provider: string): Decision {
  if (actor.isAdmin) return ALLOW;
  if (provider === "none") {
    return { allow: false, code: "forbidden", reason: "only global admins make an unsigned (provider none) endpoint public" };
  }
  const role = owner.type === "organization" ? actor.roles[owner.id] : undefined;
  if (role && ROLE_CAPABILITIES[role].publish) return ALLOW;
  return {
    allow: false,
    code: "forbidden",
    reason: owner.type === "organization" ? `only admins of ${owner.name} (or global admins) make its endpoints public` : "only global admins make a user's endpoint public",
  };
}

/**
 * Maps an access level to the broker's answer: what the caller may not read is a 404, exactly
 * like something that does not exist; 403 only when he may read it but not do this.
 */
export function requireAccess(access: Access, needed: Exclude<Access, "none">, what: { notFound: string; forbidden: string }): void {
  if (access === "none") throw new BrokerError("not_found", what.notFound);
  if (RANK[access] < RANK[needed]) throw new BrokerError("forbidden", what.forbidden);
}

/** Throws the decision's error when it does not allow. */
export function enforce(decision: Decision): void {
  if (!decision.allow) throw new BrokerError(decision.code, decision.reason);
}

function max(a: Access, b: Access): Access {
  return RANK[a] >= RANK[b] ? a : b;
}
