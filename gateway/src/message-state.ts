/**
 * Reading one stored message by id (GET /api/v1/messages/:id and /raw): who may read it, and
 * where it stands on one of the reader's consumers. Pure functions, tested in message-state.test.ts.
 */
import { parseDeliverySubject, parseRedriveSubject, subjectMatches } from "@wb/authz";

/**
 * Whether a user may read the message stored on `subject`: a delivery of an endpoint he may
 * read, or a redrive copy made for one of his own durables (`u_<his id>_<consumer>`) of such an
 * endpoint. Another user's copy is not his, even of an endpoint both may read.
 */
export function mayReadStored(subject: string, userId: string, readable: readonly string[]): boolean {
  const copy = parseRedriveSubject(subject);
  if (copy) return copy.durable.startsWith(`u_${userId.replace(/-/g, "")}_`) && readable.includes(copy.endpointId);
  try {
    return readable.includes(parseDeliverySubject(subject).endpointId);
  } catch {
    return false; // not a subject the broker stores deliveries on
  }
}

/** What JetStream says of a durable (ConsumerInfo's fields used here). */
export interface DurableFacts {
  filterSubjects: readonly string[];
  /** The last stream sequence delivered; 0 when nothing was. */
  deliveredSeq: number;
  /** Every stream sequence at or below it is settled. */
  ackFloorSeq: number;
  numAckPending: number;
  numRedelivered: number;
}

export type DeliveryStateName = "not_selected" | "not_delivered" | "awaiting_ack" | "acked" | "dead_letter";

export interface DeliveryState {
  state: DeliveryStateName;
  /** How often the consumer delivered it; null when JetStream does not say (see deliveryState). */
  delivery_count: number | null;
}

/**
 * Where message `seq` (on `subject`) stands on a durable. JetStream keeps no per-message
 * delivery count it would tell, so the count is given where it is certain: 0 when not delivered,
 * the recorded count of a dead letter, and 1 for a message awaiting its ack while the durable has
 * no redelivery pending; otherwise null (acked, or awaiting its ack beside redeliveries).
 * A message between the ack floor and the last delivered one may also have been acked out of
 * order: "awaiting_ack" then means "delivered, not known to be acked", unless nothing is pending.
 */
export function deliveryState(seq: number, subject: string, d: DurableFacts | undefined, dead?: { deliveryCount: number }): DeliveryState {
  if (dead) return { state: "dead_letter", delivery_count: dead.deliveryCount };
  // No durable yet: it is made on the consumer's first read, and nothing was delivered before.
  if (!d) return { state: "not_delivered", delivery_count: 0 };
  if (!d.filterSubjects.some((f) => subjectMatches(f, subject))) return { state: "not_selected", delivery_count: 0 };
  if (seq > d.deliveredSeq) return { state: "not_delivered", delivery_count: 0 };
  if (seq <= d.ackFloorSeq || d.numAckPending === 0) return { state: "acked", delivery_count: null };
  return { state: "awaiting_ack", delivery_count: d.numRedelivered === 0 ? 1 : null };
}
