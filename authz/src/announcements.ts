/**
 * Announcements on NATS of changes to who may read what. Every process that mirrors the
 * database into NATS listens (authz/src/access-changes.ts): gateways bring durables' filter
 * subjects in line and reload their endpoint cache, the auth callout closes connections whose
 * access changed. The API and the CLI announce through these functions, so both send the same
 * payloads. Nothing depends on an announcement arriving: every listener also sweeps.
 */
import type { NatsConnection } from "@nats-io/transport-node";

/** Changes of who may read what, with the users concerned (memberships, roles, tokens, consumers). */
export const GRANTS_CHANGED_SUBJECT = "wb.control.grants.changed";
/** Endpoint changes (created, deleted, secret rotated): anyone may be concerned (public endpoints). */
export const ENDPOINTS_CHANGED_SUBJECT = "wb.control.endpoints.changed";
/** Every announcement; the callout's account imports exactly this from APP. */
export const ANNOUNCEMENTS = "wb.control.>";

/** Payload on GRANTS_CHANGED_SUBJECT. */
export interface GrantsChanged {
  organization_id?: string;
  /** The users whose access changed; empty means anyone may be concerned. */
  user_ids: string[];
  change: string;
}

/** Payload on ENDPOINTS_CHANGED_SUBJECT. */
export interface EndpointChanged {
  id: string;
  change: "created" | "updated" | "rotated" | "deleted";
}

/** An announcement ready to publish: the same bytes whoever sends it. */
export interface Announcement {
  subject: string;
  payload: string;
}

export function grantsChanged(change: Partial<GrantsChanged> = {}): Announcement {
  const payload: GrantsChanged = {
    user_ids: change.user_ids ?? [],
    change: change.change ?? "unspecified",
    ...(change.organization_id ? { organization_id: change.organization_id } : {}),
  };
  return { subject: GRANTS_CHANGED_SUBJECT, payload: JSON.stringify(payload) };
}

export function endpointChanged(change: EndpointChanged): Announcement {
  return { subject: ENDPOINTS_CHANGED_SUBJECT, payload: JSON.stringify({ id: change.id, change: change.change } satisfies EndpointChanged) };
}

/** What publishing needs of a NATS connection. */
export type Publisher = Pick<NatsConnection, "publish" | "flush">;

/** Publishes and flushes, so the announcement has left when the caller answers. */
export async function announce(nc: Publisher, a: Announcement): Promise<void> {
  nc.publish(a.subject, a.payload);
  await nc.flush();
}

/**
 * Announces a change of who may read what (membership, role, token, consumer, subscription).
 * `user_ids` narrows the work; leave it empty when unsure (everyone).
 */
export function announceGrantsChanged(nc: Publisher, change: Partial<GrantsChanged> = {}): Promise<void> {
  return announce(nc, grantsChanged(change));
}

export function announceEndpointChanged(nc: Publisher, change: EndpointChanged): Promise<void> {
  return announce(nc, endpointChanged(change));
}

/**
 * Whose access an announcement may have changed: the users a grants change names, else
 * everyone (an endpoint change, an unnamed or unreadable grants change).
 */
export function concernedUsers(subject: string, data: Uint8Array): string[] | "all" {
  if (subject !== GRANTS_CHANGED_SUBJECT) return "all";
  try {
    const msg = JSON.parse(new TextDecoder().decode(data)) as { user_ids?: unknown };
    const users = Array.isArray(msg.user_ids) ? msg.user_ids.filter((u): u is string => typeof u === "string") : [];
    return users.length ? users : "all";
  } catch {
    return "all";
  }
}
