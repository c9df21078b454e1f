/**
 * Dead letters: deliveries JetStream gave up on (max_deliver reached) or a reader terminated,
 * recorded from the server's advisories (gateway/src/dead-letter-recorder.ts).
 */
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { readableEndpointIds } from "./acl.js";
import { requireConsumer } from "./consumers.js";
import type { Db } from "./db/client.js";
import { consumers, deadLetters, type DeadLetterReason } from "./db/schema/index.js";

/** Records a dead letter for a durable (idempotent: several gateways hear the same advisory). */
export async function recordDeadLetter(
  db: Db,
  input: { durable: string; streamSeq: number; deliveryCount: number; reason: DeadLetterReason; endpointId?: string },
): Promise<boolean> {
  const [consumer] = await db.select({ id: consumers.id }).from(consumers).where(eq(consumers.durableName, input.durable));
  if (!consumer) return false;
  const rows = await db
    .insert(deadLetters)
    .values({ consumerId: consumer.id, streamSeq: input.streamSeq, deliveryCount: input.deliveryCount, reason: input.reason, endpointId: input.endpointId ?? null })
    .onConflictDoNothing()
    .returning({ id: deadLetters.id });
  return rows.length > 0;
}

/** The user's dead letters (newest first), optionally of one consumer, only for endpoints he may still read. */
export async function listDeadLetters(db: Db, userId: string, opts: { consumer?: string; limit?: number } = {}) {
  const consumer = opts.consumer === undefined ? undefined : await requireConsumer(db, userId, opts.consumer);
  const readable = await readableEndpointIds(db, userId);
  if (readable.length === 0) return [];
  return db
    .select({
      consumer: consumers.name,
      streamSeq: deadLetters.streamSeq,
      endpointId: deadLetters.endpointId,
      deliveryCount: deadLetters.deliveryCount,
      reason: deadLetters.reason,
      deadAt: deadLetters.deadAt,
      redrivenAt: deadLetters.redrivenAt,
      redrivenBy: deadLetters.redrivenBy,
      redriveSeq: deadLetters.redriveSeq,
    })
    .from(deadLetters)
    .innerJoin(consumers, eq(consumers.id, deadLetters.consumerId))
    .where(and(eq(consumers.userId, userId), consumer ? eq(consumers.id, consumer.id) : undefined, inArray(deadLetters.endpointId, readable)))
    .orderBy(desc(deadLetters.deadAt), desc(deadLetters.streamSeq))
    .limit(opts.limit ?? 100);
}

/** A dead letter as the API and the CLI show it. */
export function viewDeadLetter(r: Awaited<ReturnType<typeof listDeadLetters>>[number]) {
  return {
    consumer: r.consumer,
    id: r.streamSeq,
    endpoint_id: r.endpointId,
    delivery_count: r.deliveryCount,
    reason: r.reason,
    dead_at: r.deadAt.toISOString(),
    /** Set once it was redriven (durables/redrive.ts): when, by whom, and the copy's id. */
    redriven_at: r.redrivenAt?.toISOString() ?? null,
    redriven_by: r.redrivenBy,
    redrive_id: r.redriveSeq,
  };
}

/** One consumer's dead letter of a message, if there is one. */
export async function findDeadLetter(db: Db, consumerId: string, streamSeq: number) {
  const [row] = await db
    .select()
    .from(deadLetters)
    .where(and(eq(deadLetters.consumerId, consumerId), eq(deadLetters.streamSeq, streamSeq)))
    .limit(1);
  return row;
}

export async function countDeadLetters(db: Db, consumerId: string): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(deadLetters).where(eq(deadLetters.consumerId, consumerId));
  return row?.n ?? 0;
}
