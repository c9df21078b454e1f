/**
 * Reservations: a global admin sets a path prefix aside for a user or an organization
 * (`github/acme` → organization acme). Inside it only that owner has endpoints; no other
 * owner's endpoint may contain it. Existing endpoints are never touched: a reservation that
 * another owner's endpoint overlaps is refused until that endpoint is gone.
 */
import { eq, inArray, or } from "drizzle-orm";
import { recordAudit, type Acting } from "./audit.js";
import type { Db } from "./db/client.js";
import { reservations, type Reservation } from "./db/schema/index.js";
import { findOrganizationByName, normalizeEndpointPath, type OwnerSpec } from "./endpoints.js";
import { BrokerError } from "./errors.js";
import { loadPathSpace, lockPathSpace, ownerNames } from "./placement.js";
import type { Actor } from "./rules/access.js";
import { UUID } from "./rules/limits.js";
import { checkReservationPlacement, type OwnerRef } from "./rules/ownership.js";
import { storedPathKey } from "./rules/paths.js";
import { findUserByName } from "./users.js";

export interface ReservationView {
  id: string;
  prefix: string;
  url_prefix: string;
  owner: { type: "user" | "organization"; id: string; name: string };
  note: string | null;
  created_at: string;
}

export function viewReservation(r: Reservation, ownerName: string): ReservationView {
  return {
    id: r.id,
    prefix: r.prefix,
    url_prefix: "/webhook/" + r.prefix.split("/").map(encodeURIComponent).join("/"),
    owner: r.ownerUserId ? { type: "user", id: r.ownerUserId, name: ownerName } : { type: "organization", id: r.ownerOrgId!, name: ownerName },
    note: r.note,
    created_at: r.createdAt.toISOString(),
  };
}

function onlyGlobalAdmins(actor: Actor): void {
  if (!actor.isAdmin) throw new BrokerError("forbidden", "only global admins reserve path prefixes");
}

/** Reserves `prefix` for the named user or organization (global admins only), audited. */
export async function createReservation(
  db: Db,
  acting: Acting,
  input: { prefix: string; owner: NonNullable<OwnerSpec>; note?: string },
): Promise<ReservationView> {
  onlyGlobalAdmins(acting.actor);
  const prefix = normalizeEndpointPath(input.prefix);
  if (input.note && input.note.length > 1024) throw new BrokerError("invalid_request", "note: at most 1024 characters");
  const owner: OwnerRef =
    "organization" in input.owner
      ? { type: "organization", ...(await pick(findOrganizationByName(db, input.owner.organization))) }
      : { type: "user", ...(await pick(findUserByName(db, input.owner.user))) };
  const row = await db.transaction(async (tx) => {
    await lockPathSpace(tx);
    const space = await loadPathSpace(tx);
    const placement = checkReservationPlacement({ key: storedPathKey(prefix), owner, ...space });
    if (!placement.ok) throw new BrokerError(placement.code, placement.reason);
    const [inserted] = await tx
      .insert(reservations)
      .values({ prefix, ownerUserId: owner.type === "user" ? owner.id : null, ownerOrgId: owner.type === "organization" ? owner.id : null, note: input.note ?? null })
      .onConflictDoNothing()
      .returning();
    if (!inserted) throw new BrokerError("conflict", `${prefix} is already reserved`);
    await recordAudit(tx, acting, {
      action: "reservation.created",
      targetType: "reservation",
      targetId: inserted.id,
      organizationId: inserted.ownerOrgId,
      details: { prefix, owner: { type: owner.type, id: owner.id, name: owner.name } },
    });
    return inserted;
  });
  return viewReservation(row, owner.name);
}

/**
 * Reservations the actor may see: a global admin all of them, anyone else those held by
 * himself or by his organizations.
 */
export async function listReservations(db: Db, actor: Actor): Promise<ReservationView[]> {
  const orgIds = Object.keys(actor.roles);
  const where = actor.isAdmin
    ? undefined
    : or(eq(reservations.ownerUserId, actor.userId ?? "00000000-0000-0000-0000-000000000000"), orgIds.length ? inArray(reservations.ownerOrgId, orgIds) : undefined);
  const rows = await db.select().from(reservations).where(where).orderBy(reservations.prefix);
  const names = await holderNames(db, rows);
  return rows.map((r) => viewReservation(r, names.get((r.ownerUserId ?? r.ownerOrgId)!) ?? ""));
}

/** Removes a reservation (global admins); a holder sees it (403), anyone else gets 404. Existing endpoints stay. */
export async function deleteReservation(db: Db, acting: Acting, id: string): Promise<void> {
  const visible = UUID.test(id) ? (await listReservations(db, acting.actor)).find((r) => r.id === id) : undefined;
  if (!visible) throw new BrokerError("not_found", `reservation ${id} not found`);
  onlyGlobalAdmins(acting.actor);
  await db.transaction(async (tx) => {
    const [row] = await tx.delete(reservations).where(eq(reservations.id, id)).returning();
    if (!row) throw new BrokerError("not_found", `reservation ${id} not found`);
    await recordAudit(tx, acting, { action: "reservation.deleted", targetType: "reservation", targetId: id, organizationId: row.ownerOrgId, details: { prefix: row.prefix, owner: visible.owner } });
  });
}

async function pick(p: Promise<{ id: string; name: string }>): Promise<{ id: string; name: string }> {
  const { id, name } = await p;
  return { id, name };
}

function holderNames(db: Db, rows: Reservation[]): Promise<Map<string, string>> {
  return ownerNames(db, { users: rows.flatMap((r) => (r.ownerUserId ? [r.ownerUserId] : [])), orgs: rows.flatMap((r) => (r.ownerOrgId ? [r.ownerOrgId] : [])) });
}
