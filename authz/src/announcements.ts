/**
 * Announcements on NATS of changes to who may read what, so every process that mirrors the
 * database into NATS (gateways: durables' filter subjects; the callout: live connections)
 * reacts at once instead of waiting for its safety sweep.
 */
import { GRANTS_CHANGED_SUBJECT, type GrantsChanged } from "./acl.js";

/** What {@link announceGrantsChanged} needs of a NATS connection. */
export interface Publisher {
  publish(subject: string, data?: string): void;
  flush(): Promise<void>;
}

/**
 * Announces a change of who may read what (membership, role, endpoint ownership or
 * visibility, subscriptions), so every gateway's reconciler updates the affected durable
 * consumers at once. `user_ids` narrows the work; leave it empty when unsure (everyone).
 */
export async function announceGrantsChanged(nc: Publisher, change: Partial<GrantsChanged> = {}): Promise<void> {
  const payload: GrantsChanged = { user_ids: change.user_ids ?? [], change: change.change ?? "unspecified", ...(change.organization_id ? { organization_id: change.organization_id } : {}) };
  nc.publish(GRANTS_CHANGED_SUBJECT, JSON.stringify(payload));
  await nc.flush();
}
