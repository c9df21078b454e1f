/** Names shared by every component that touches JetStream. */

/** Durable consumer name of one of a user's consumers (`default` unless named). */
export function durableName(userId: string, consumer = "default"): string {
  return `u_${userId.replace(/-/g, "")}_${consumer}`;
}

/** Consumer names users may choose (defined with the other rules). */
export { CONSUMER_NAME } from "./rules/limits.js";

/**
 * Private inbox prefix for a user's direct NATS connections (a shared `_INBOX.>` leaks replies):
 * his id and his secret inbox token (users.inbox_token). nats-server lets any client name any
 * reply subject on a request, so the prefix must be one nobody else can name; see README,
 * "NATS hardening".
 */
export function userInboxPrefix(userId: string, inboxToken: string): string {
  if (!/^[0-9a-f]{32}$/.test(inboxToken)) throw new Error("inbox token must be 32 hex characters");
  return `_INBOX_${userId.replace(/-/g, "")}_${inboxToken}`;
}
