/** Names shared by every component that touches JetStream. */

/** Durable consumer name of one of a user's consumers (`default` unless named). */
export function durableName(userId: string, consumer = "default"): string {
  return `u_${userId.replace(/-/g, "")}_${consumer}`;
}

/** Consumer names users may choose (defined with the other rules). */
export { CONSUMER_NAME } from "./rules/limits.js";

/** Private inbox prefix for a user's direct NATS connections (shared `_INBOX.>` leaks replies). */
export function userInboxPrefix(userId: string): string {
  return `_INBOX_${userId.replace(/-/g, "")}`;
}
