/**
 * The NATS permissions of a power user's direct connection: a pure function of who he is and
 * which durable consumers are his. Everything not listed is denied by the server.
 *
 * The user lives in the JetStream-less account CLIENTS, which imports from APP only the pull
 * and info APIs of the stream's consumers (renamed to {@link CLIENT_API_PREFIX}) and the
 * stream's ack subjects (see calloutNatsConfig and shared/NATS-FACTS.md). Within those imports
 * his permissions narrow publishing to HIS durables, and subscribing to HIS private inbox.
 */
import { userInboxPrefix } from "../naming.js";
import { CLIENT_LIMITS, type ClientLimits } from "./nats-config.js";

/** Where CLIENTS sees APP's JetStream API: `jetstream(nc, { apiPrefix: "APPJS.API" })`. */
export const CLIENT_API_PREFIX = "APPJS.API";

export interface CalloutPrincipal {
  userId: string;
  /** His secret inbox token (users.inbox_token): part of his inbox prefix. */
  inboxToken: string;
}

export interface SubjectPermission {
  allow: string[];
  deny: string[];
}

/** The `nats` part of a user JWT that this module decides. */
export interface CalloutPermissions {
  pub: SubjectPermission;
  sub: SubjectPermission;
  /** The inbox prefix the client must set (`inboxPrefix` in nats.js, `--inbox-prefix` in the CLI). */
  inboxPrefix: string;
  /** Limits for the user JWT (`subs`, `payload`, `data`; -1: none). */
  limits: { subs: number; payload: number; data: number };
}

export type Decision = CalloutPermissions | { deny: string };

/** A subject token that is safe to splice into a permission: no wildcards, dots or spaces. */
const TOKEN = /^[A-Za-z0-9_-]{1,255}$/;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * Permissions for `principal` over his `durables` in `stream`, or why not.
 *
 * A NATS permission with an empty allow list means "no restriction", so an empty allow list
 * is never returned: with nothing to allow, publishing is denied with `>` instead.
 */
export function decide(
  principal: CalloutPrincipal,
  durables: readonly string[],
  stream: string,
  limits: Pick<ClientLimits, "maxSubscriptions" | "maxPayload"> = CLIENT_LIMITS,
): Decision {
  if (!UUID.test(principal.userId)) return { deny: "principal has no valid user id" };
  if (!/^[0-9a-f]{32}$/.test(principal.inboxToken)) return { deny: "principal has no valid inbox token" };
  if (!TOKEN.test(stream)) return { deny: `stream name ${JSON.stringify(stream)} is not a plain subject token` };
  const bad = durables.find((d) => !TOKEN.test(d));
  if (bad !== undefined) return { deny: `consumer name ${JSON.stringify(bad)} is not a plain subject token` };

  const own = [...new Set(durables)].sort();
  const pubAllow = own.flatMap((durable) => [
    `${CLIENT_API_PREFIX}.CONSUMER.MSG.NEXT.${stream}.${durable}`,
    `${CLIENT_API_PREFIX}.CONSUMER.INFO.${stream}.${durable}`,
    // ack, nak, in-progress (+WPI) and term are all publishes to the message's ack subject.
    `$JS.ACK.${stream}.${durable}.>`,
  ]);
  const inboxPrefix = userInboxPrefix(principal.userId, principal.inboxToken);
  return {
    pub: pubAllow.length > 0 ? { allow: pubAllow, deny: [] } : { allow: [], deny: [">"] },
    sub: { allow: [`${inboxPrefix}.>`], deny: [] },
    inboxPrefix,
    limits: { subs: limits.maxSubscriptions, payload: limits.maxPayload, data: -1 },
  };
}

export function isDenied(decision: Decision): decision is { deny: string } {
  return "deny" in decision;
}
