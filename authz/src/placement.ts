/**
 * The database side of the ownership rules (rules/ownership.ts): loading who holds which path
 * space, under one lock so that two concurrent creations cannot both pass the check.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { activeMembership, type Principal } from "./acl.js";
import type { Db } from "./db/client.js";
import { endpoints, memberships, organizations, reservations, users, type Endpoint, type Reservation } from "./db/schema/index.js";
import { BrokerError } from "./errors.js";
import type { Actor } from "./rules/access.js";
import { ACCOUNT_NAME } from "./rules/limits.js";
import { placementViolations, type OwnerRef, type PlacedEndpoint, type PlacedReservation, type PlacementViolation } from "./rules/ownership.js";
import { storedPathKey } from "./rules/paths.js";

export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

/** Serializes every change of path space (endpoint and reservation creation) in PostgreSQL. */
export async function lockPathSpace(tx: Tx): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('wb.path-space'))`);
}

/** Every endpoint and reservation, as the pure placement checks see them. */
export async function loadPathSpace(db: Db | Tx): Promise<{ endpoints: PlacedEndpoint[]; reservations: PlacedReservation[] }> {
  const [eps, res] = await Promise.all([
    db.select({ id: endpoints.id, path: endpoints.path, ownerUserId: endpoints.ownerUserId, ownerOrgId: endpoints.ownerOrgId }).from(endpoints),
    loadReservations(db),
  ]);
  return {
    endpoints: eps.map((e) => ({
      id: e.id,
      key: storedPathKey(e.path),
      owner: e.ownerUserId ? { type: "user" as const, id: e.ownerUserId } : { type: "organization" as const, id: e.ownerOrgId! },
    })),
    reservations: res,
  };
}

/** Reservations with their holders' names; optionally only those of one organization. */
export async function loadReservations(db: Db | Tx, onlyOrgId?: string): Promise<PlacedReservation[]> {
  const rows = await db
    .select({ r: reservations, userName: users.name, orgName: organizations.name })
    .from(reservations)
    .leftJoin(users, eq(users.id, reservations.ownerUserId))
    .leftJoin(organizations, eq(organizations.id, reservations.ownerOrgId))
    .where(onlyOrgId ? eq(reservations.ownerOrgId, onlyOrgId) : undefined);
  return rows.map(({ r, userName, orgName }) => ({ id: r.id, key: storedPathKey(r.prefix), owner: reservationOwner(r, userName, orgName) }));
}

function reservationOwner(r: Reservation, userName: string | null, orgName: string | null): OwnerRef {
  return r.ownerUserId ? { type: "user", id: r.ownerUserId, name: userName ?? "" } : { type: "organization", id: r.ownerOrgId!, name: orgName ?? "" };
}

/** The owner of an endpoint, with its name. */
export async function ownerOfEndpoint(db: Db | Tx, e: Pick<Endpoint, "ownerUserId" | "ownerOrgId">): Promise<OwnerRef> {
  if (e.ownerUserId) {
    const [u] = await db.select({ name: users.name }).from(users).where(eq(users.id, e.ownerUserId));
    return { type: "user", id: e.ownerUserId, name: u?.name ?? "" };
  }
  const [o] = await db.select({ name: organizations.name }).from(organizations).where(eq(organizations.id, e.ownerOrgId!));
  return { type: "organization", id: e.ownerOrgId!, name: o?.name ?? "" };
}

/** A principal with his roles: what the access rules decide over. */
export async function actorOf(db: Db, p: Principal): Promise<Actor> {
  const rows = await db
    .select({ org: memberships.organizationId, role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.userId, p.userId), activeMembership()));
  return { userId: p.userId, name: p.name, isAdmin: p.isAdmin, roles: Object.fromEntries(rows.map((r) => [r.org, r.role])) };
}

/** Owner names for many endpoints at once (listings, the audit). */
export async function ownerNames(db: Db, ids: { users: string[]; orgs: string[] }): Promise<Map<string, string>> {
  const [us, os] = await Promise.all([
    ids.users.length ? db.select({ id: users.id, name: users.name }).from(users).where(inArray(users.id, ids.users)) : [],
    ids.orgs.length ? db.select({ id: organizations.id, name: organizations.name }).from(organizations).where(inArray(organizations.id, ids.orgs)) : [],
  ]);
  return new Map([...us, ...os].map((x) => [x.id, x.name]));
}

/** A name that cannot be a user or organization is not looked up (a NUL byte would fail in PostgreSQL). */
export function checkAccountName(name: string, what: "user" | "organization"): void {
  if (!ACCOUNT_NAME.test(name)) throw new BrokerError("not_found", `${what} ${JSON.stringify(name)} not found`);
}

/** Every existing endpoint that breaks the ownership rules (reported by `pnpm cli endpoints audit`; nothing is changed). */
export async function findPlacementViolations(db: Db): Promise<(PlacementViolation & { path: string; owner: OwnerRef })[]> {
  const rows = await db
    .select({ id: endpoints.id, path: endpoints.path, userId: endpoints.ownerUserId, orgId: endpoints.ownerOrgId, userName: users.name, orgName: organizations.name })
    .from(endpoints)
    .leftJoin(users, eq(users.id, endpoints.ownerUserId))
    .leftJoin(organizations, eq(organizations.id, endpoints.ownerOrgId))
    .orderBy(endpoints.path);
  const placed = rows.map((r) => ({
    id: r.id,
    path: r.path,
    key: storedPathKey(r.path),
    owner: (r.userId ? { type: "user", id: r.userId, name: r.userName ?? "" } : { type: "organization", id: r.orgId!, name: r.orgName ?? "" }) as OwnerRef,
  }));
  const byId = new Map(placed.map((p) => [p.id, p]));
  return placementViolations(placed, await loadReservations(db)).map((v) => ({ ...v, path: byId.get(v.endpointId)!.path, owner: byId.get(v.endpointId)!.owner }));
}
