import { bigint, index, integer, pgTable, text, unique, uuid } from "drizzle-orm/pg-core";
import { instant, parentRef, primaryId } from "./columns.js";
import { consumers } from "./consumers.js";

/** Why a message stopped being delivered to a consumer. */
export type DeadLetterReason = "max_deliveries" | "terminated";

/**
 * JetStream has no dead-letter queue: it stops redelivering after `max_deliver` (or a `term`)
 * and publishes an advisory. The gateways record those advisories here; the message itself
 * stays in the stream (readable by `after_id` replay until retention removes it).
 */
export const deadLetters = pgTable(
  "dead_letters",
  {
    id: primaryId(),
    consumerId: parentRef("consumer_id", () => consumers.id),
    streamSeq: bigint("stream_seq", { mode: "number" }).notNull(),
    /** The message's endpoint when it could still be read from the stream. */
    endpointId: uuid("endpoint_id"),
    deliveryCount: integer("delivery_count").notNull(),
    reason: text("reason").$type<DeadLetterReason>().notNull(),
    deadAt: instant("dead_at").notNull().defaultNow(),
    /** Set once, when the dead letter is redriven (durables/redrive.ts): when, by whom, and the copy's sequence. */
    redrivenAt: instant("redriven_at"),
    /** The acting user's name, or `cli`. */
    redrivenBy: text("redriven_by"),
    redrivenByUserId: uuid("redriven_by_user_id"),
    redriveSeq: bigint("redrive_seq", { mode: "number" }),
  },
  // Several gateways receive the same advisory: the first insert wins.
  (t) => [unique("dead_letters_consumer_seq").on(t.consumerId, t.streamSeq), index("dead_letters_dead_at_idx").on(t.consumerId, t.deadAt)],
);

export type DeadLetter = typeof deadLetters.$inferSelect;
