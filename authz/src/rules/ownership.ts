/**
 * A path has one owner. Pure checks of where an endpoint or a reservation may be placed, given
 * everything that already holds path space; the database layer (endpoints.ts, reservations.ts)
 * loads the facts under a lock and calls these, so API, CLI and tests cannot disagree.
 *
 * The model (README, "Who owns a path"):
 * - an endpoint may not be nested under, or be an ancestor of, an endpoint of another owner;
 * - `u/<user>/...` is that user's personal namespace and `o/<org>/...` that organization's;
 *   nobody else places an endpoint there, and nothing sits at `u` or `o` themselves;
 * - a global admin may reserve a prefix for a user or an organization; inside it only that
 *   owner places endpoints, and no other owner's endpoint may contain it;
 * - everything else is first come, first served.
 */
import { namespaceOf, overlaps, showPath, within } from "./paths.js";

/** An owner with its name (namespaces are by name). */
export type OwnerRef = { type: "user"; id: string; name: string } | { type: "organization"; id: string; name: string };

export function sameOwner(a: Pick<OwnerRef, "type" | "id">, b: Pick<OwnerRef, "type" | "id">): boolean {
  return a.type === b.type && a.id === b.id;
}

export function describeOwner(o: Pick<OwnerRef, "type" | "name">): string {
  return o.type === "user" ? `user ${o.name}` : `organization ${o.name}`;
}

/** An existing endpoint as far as placement is concerned. */
export interface PlacedEndpoint {
  id: string;
  /** Comparison key (pathKey). */
  key: readonly string[];
  owner: Pick<OwnerRef, "type" | "id">;
}

/** A reserved prefix. */
export interface PlacedReservation {
  id: string;
  key: readonly string[];
  owner: OwnerRef;
}

export type Placement = { ok: true } | { ok: false; code: "forbidden" | "conflict"; reason: string };

const OK: Placement = { ok: true };

/** The namespace rule alone: may `owner` hold path space at `key`? */
export function namespaceRule(key: readonly string[], owner: OwnerRef): Placement {
  const ns = namespaceOf(key);
  if (!ns) return OK;
  if (ns.kind === "root") {
    return { ok: false, code: "forbidden", reason: `${showPath([ns.root])} is the root of the ${ns.root === "u" ? "personal" : "organization"} namespaces; use ${showPath([ns.root, "<name>", "..."])}` };
  }
  const holder: Pick<OwnerRef, "type" | "name"> = { type: ns.kind, name: ns.name };
  if (owner.type === ns.kind && owner.name === ns.name) return OK;
  return { ok: false, code: "forbidden", reason: `${showPath(key.slice(0, 2))}/ is the namespace of ${describeOwner(holder)}; only it may have endpoints there` };
}

/**
 * May an endpoint of `owner` be placed at `key`? `endpoints` and `reservations` are everything
 * that exists (the endpoint itself, when re-checked, is skipped by id).
 */
export function checkEndpointPlacement(input: {
  key: readonly string[];
  owner: OwnerRef;
  endpoints: readonly PlacedEndpoint[];
  reservations: readonly PlacedReservation[];
  self?: string;
}): Placement {
  const { key, owner } = input;
  const ns = namespaceRule(key, owner);
  if (!ns.ok) return ns;
  for (const r of input.reservations) {
    if (sameOwner(r.owner, owner) || !overlaps(key, r.key)) continue;
    // The holder is not named: the caller may not be allowed to know that organization.
    if (within(key, r.key)) {
      return { ok: false, code: "forbidden", reason: `${showPath(r.key)} is reserved for another owner; only its holder may have endpoints there` };
    }
    return { ok: false, code: "conflict", reason: `${showPath(key)} would contain ${showPath(r.key)}, which is reserved for another owner` };
  }
  for (const e of input.endpoints) {
    if (e.id === input.self || sameOwner(e.owner, owner) || !overlaps(key, e.key)) continue;
    // Neither the other endpoint's path nor its owner is named: the caller may not read it.
    const how = within(key, e.key) ? (e.key.length === key.length ? "is already" : "is nested under") : "would contain";
    return { ok: false, code: "conflict", reason: `${showPath(key)} ${how} an endpoint of another owner; an endpoint may not be nested under, or contain, another owner's endpoint` };
  }
  return OK;
}

/** May `owner` reserve `key`? Namespaces are not reservable; nothing of another owner may overlap. */
export function checkReservationPlacement(input: {
  key: readonly string[];
  owner: OwnerRef;
  endpoints: readonly PlacedEndpoint[];
  reservations: readonly PlacedReservation[];
}): Placement {
  const { key, owner } = input;
  if (namespaceOf(key)) {
    return { ok: false, code: "conflict", reason: `${showPath(key)} lies in the namespaces (${showPath(["u"])}/<user>, ${showPath(["o"])}/<organization>), which belong to their users and organizations already` };
  }
  for (const r of input.reservations) {
    if (!overlaps(key, r.key)) continue;
    if (sameOwner(r.owner, owner) && r.key.length === key.length) {
      return { ok: false, code: "conflict", reason: `${showPath(key)} is already reserved for ${describeOwner(owner)}` };
    }
    if (!sameOwner(r.owner, owner)) {
      return { ok: false, code: "conflict", reason: `${showPath(key)} overlaps ${showPath(r.key)}, reserved for ${describeOwner(r.owner)}` };
    }
  }
  const clash = input.endpoints.filter((e) => !sameOwner(e.owner, owner) && overlaps(key, e.key));
  if (clash.length > 0) {
    return {
      ok: false,
      code: "conflict",
      reason: `${clash.length} endpoint(s) of other owners overlap ${showPath(key)} (${clash.map((e) => e.id).join(", ")}); delete or move them first`,
    };
  }
  return OK;
}

/** Is `key` in `owner`'s own space: its namespace or one of its reservations? */
export function inOwnSpace(key: readonly string[], owner: OwnerRef, reservations: readonly PlacedReservation[]): boolean {
  const ns = namespaceOf(key);
  if (ns && ns.kind === owner.type && ns.name === owner.name) return true;
  return reservations.some((r) => sameOwner(r.owner, owner) && within(key, r.key));
}

/** An existing endpoint that breaks the ownership rules (data from before the rules, or edited by hand). */
export interface PlacementViolation {
  endpointId: string;
  rule: "namespace" | "reservation" | "nested";
  /** Ids of the other owners' endpoints or reservations it collides with. */
  with: string[];
  reason: string;
}

/**
 * Every endpoint that could not be created today, and why. Pure: for `pnpm cli endpoints
 * audit`, which reports and changes nothing. Each side of a nested pair is reported.
 */
export function placementViolations(
  endpoints: readonly (PlacedEndpoint & { owner: OwnerRef })[],
  reservations: readonly PlacedReservation[],
): PlacementViolation[] {
  const out: PlacementViolation[] = [];
  for (const e of endpoints) {
    const ns = namespaceRule(e.key, e.owner);
    if (!ns.ok) out.push({ endpointId: e.id, rule: "namespace", with: [], reason: ns.reason });
    const held = reservations.filter((r) => !sameOwner(r.owner, e.owner) && overlaps(e.key, r.key));
    if (held.length) {
      out.push({ endpointId: e.id, rule: "reservation", with: held.map((r) => r.id), reason: `${showPath(e.key)} overlaps a prefix reserved for ${held.map((r) => describeOwner(r.owner)).join(", ")}` });
    }
    const nested = endpoints.filter((o) => o.id !== e.id && !sameOwner(o.owner, e.owner) && overlaps(e.key, o.key));
    if (nested.length) {
      out.push({
        endpointId: e.id,
        rule: "nested",
        with: nested.map((o) => o.id),
        reason: `${showPath(e.key)} is nested under or contains endpoints of ${[...new Set(nested.map((o) => describeOwner(o.owner)))].join(", ")}`,
      });
    }
  }
  return out;
}
