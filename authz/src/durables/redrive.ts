/**
 * Redrive: a dead-lettered delivery made deliverable again, once, to the consumer that gave up
 * on it.
 *
 * JetStream cannot hand a message back to a durable that stopped delivering it (max_deliver
 * reached or terminated), and a rewind would deliver everything after it again. So the stored
 * message is copied: same body, same headers, plus `Wb-Redrive-Of: <original sequence>`,
 * published on the consumer's own redrive subject `wh.rd.<durable>.<endpoint>` (subjects.ts).
 * The durable's filters include that subject for every endpoint it may read (consumerPlan), so
 * the copy arrives at the end of its stream like a new delivery, over HTTP, SSE and NATS alike,
 * with a fresh max_deliver budget; no other consumer, grant or replay selects it. Readers' NATS
 * permissions name the durable, not subjects, so nothing changes there.
 *
 * "Once" is a claim in PostgreSQL (`redriven_at` set from null, with who), taken before the
 * publish and given back if the publish fails; the publish carries `Nats-Msg-Id:
 * redrive-<dead letter id>` so a retry after an unconfirmed publish is not stored twice.
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { and, asc, eq, gte, inArray, isNull, lt, sql, type SQL } from "drizzle-orm";
import { readableEndpointIds } from "../acl.js";
import { requireConsumer } from "../consumers.js";
import type { Db } from "../db/client.js";
import { consumers, deadLetters, type Consumer } from "../db/schema/index.js";
import { BrokerError } from "../errors.js";
import { endpointOfSubject, redriveSubject } from "../subjects.js";
import { isMessageNotFound, isStreamNotFound } from "./errors.js";
import type { ConsumerManager } from "./manager.js";

/** The header a redrive copy carries: the stream sequence of the message first dead-lettered. */
export const REDRIVE_OF_HEADER = "Wb-Redrive-Of";

/** Most dead letters one bulk redrive takes. */
export const MAX_BULK_REDRIVE = 1000;

export interface RedriveDeps {
  db: Db;
  jsm: JetStreamManager;
  js: JetStreamClient;
  consumers: ConsumerManager;
  stream: string;
}

/** Who redrives: a user (API), or the CLI (`userId` null, name `cli`). */
export interface RedriveBy {
  userId: string | null;
  name: string;
}

/** A dead letter after its redrive, as the API and the CLI show it. */
export interface Redriven {
  consumer: string;
  id: number;
  redrive_id: number;
  redriven_at: string;
  redriven_by: string;
}

type Candidate = { deadLetterId: string; streamSeq: number; consumer: Consumer };

/**
 * Redrives dead letter `id` (its stream sequence) of one of the user's consumers: `consumer`
 * names it, or, when omitted, the only one of his consumers with that dead letter. Dead letters
 * of endpoints he may no longer read are not found, like another user's.
 */
export async function redriveDeadLetter(deps: RedriveDeps, userId: string, target: { id: number; consumer?: string }, by: RedriveBy): Promise<Redriven> {
  const owned = target.consumer === undefined ? undefined : await requireConsumer(deps.db, userId, target.consumer);
  const readable = await readableEndpointIds(deps.db, userId);
  const notFound = new BrokerError("not_found", `dead letter ${target.id} not found`);
  if (readable.length === 0) throw notFound;
  const rows = await candidates(deps.db, userId, owned, readable, eq(deadLetters.streamSeq, target.id));
  if (rows.length === 0) throw notFound;
  if (rows.length > 1) {
    const names = rows.map((r) => r.consumer.name).sort();
    throw new BrokerError("invalid_request", `message ${target.id} is dead-lettered on consumers ${names.join(", ")}: say which with consumer`);
  }
  return redriveOne(deps, rows[0]!, by);
}

/**
 * Redrives the user's dead letters not redriven yet that died in [from, to) (optionally of one
 * consumer), oldest first, at most `limit`. Those whose message retention already removed are
 * listed in `gone` and stay as they were.
 */
export async function redriveDeadLetters(
  deps: RedriveDeps,
  userId: string,
  range: { from: Date; to?: Date; consumer?: string; limit?: number },
  by: RedriveBy,
): Promise<{ redriven: Redriven[]; gone: { consumer: string; id: number }[]; has_more: boolean }> {
  const owned = range.consumer === undefined ? undefined : await requireConsumer(deps.db, userId, range.consumer);
  const readable = await readableEndpointIds(deps.db, userId);
  const limit = Math.min(range.limit ?? MAX_BULK_REDRIVE, MAX_BULK_REDRIVE);
  if (readable.length === 0) return { redriven: [], gone: [], has_more: false };
  const rows = await candidates(
    deps.db,
    userId,
    owned,
    readable,
    and(isNull(deadLetters.redrivenAt), gte(deadLetters.deadAt, range.from), range.to ? lt(deadLetters.deadAt, range.to) : undefined),
  )
    .orderBy(asc(deadLetters.deadAt), asc(deadLetters.streamSeq))
    .limit(limit + 1);
  const redriven: Redriven[] = [];
  const gone: { consumer: string; id: number }[] = [];
  for (const row of rows.slice(0, limit)) {
    try {
      redriven.push(await redriveOne(deps, row, by));
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      if (err.code === "message_not_found") gone.push({ consumer: row.consumer.name, id: row.streamSeq });
      else if (err.code !== "already_redriven") throw err; // redriven meanwhile by another request: done
    }
  }
  return { redriven, gone, has_more: rows.length > limit };
}

/** The user's dead letters (of `owned` only, when given) on endpoints he may read, matching `where`. */
function candidates(db: Db, userId: string, owned: Consumer | undefined, readable: string[], where: SQL | undefined) {
  return db
    .select({ deadLetterId: deadLetters.id, streamSeq: deadLetters.streamSeq, consumer: consumers })
    .from(deadLetters)
    .innerJoin(consumers, eq(consumers.id, deadLetters.consumerId))
    .where(and(eq(consumers.userId, userId), owned ? eq(consumers.id, owned.id) : undefined, inArray(deadLetters.endpointId, readable), where))
    .$dynamic();
}

async function redriveOne(deps: RedriveDeps, row: Candidate, by: RedriveBy): Promise<Redriven> {
  const { db } = deps;
  const [claimed] = await db
    .update(deadLetters)
    .set({ redrivenAt: sql`now()`, redrivenBy: by.name, redrivenByUserId: by.userId })
    .where(and(eq(deadLetters.id, row.deadLetterId), isNull(deadLetters.redrivenAt)))
    .returning({ at: deadLetters.redrivenAt });
  if (!claimed) {
    const [was] = await db.select().from(deadLetters).where(eq(deadLetters.id, row.deadLetterId));
    throw new BrokerError(
      "already_redriven",
      `dead letter ${row.streamSeq} of consumer ${row.consumer.name} was redriven already${was?.redrivenAt ? ` at ${was.redrivenAt.toISOString()} by ${was.redrivenBy}` : ""}`,
    );
  }
  try {
    const original = await deps.jsm.direct.getMessage(deps.stream, { seq: row.streamSeq }).catch((err: unknown) => {
      if (isMessageNotFound(err) || isStreamNotFound(err)) return null;
      throw err;
    });
    if (!original) throw new BrokerError("message_not_found", `message ${row.streamSeq} is no longer in the stream (retention removed it): nothing to redrive`);
    const endpointId = endpointOfSubject(original.subject);
    // A durable made before redrive subjects existed gets them now, before the copy is stored.
    await deps.consumers.applyPlan(db, row.consumer);
    const h = natsHeaders();
    for (const k of original.header?.keys() ?? []) {
      if (k.toLowerCase().startsWith("nats-") || k === REDRIVE_OF_HEADER) continue;
      for (const v of original.header!.values(k)) h.append(k, v);
    }
    // A copy of a copy still names the first message.
    h.set(REDRIVE_OF_HEADER, original.header?.get(REDRIVE_OF_HEADER) || String(row.streamSeq));
    let seq: number;
    try {
      const ack = await deps.js.publish(redriveSubject(row.consumer.durableName, endpointId), original.data, { headers: h, msgID: `redrive-${row.deadLetterId}` });
      seq = ack.seq;
    } catch (err) {
      throw new BrokerError("unavailable", `the broker did not store the redrive (${(err as Error).message}); send it again`, { retryAfterSeconds: 1 });
    }
    const [done] = await db
      .update(deadLetters)
      .set({ redriveSeq: seq })
      .where(eq(deadLetters.id, row.deadLetterId))
      .returning({ at: deadLetters.redrivenAt, by: deadLetters.redrivenBy });
    return { consumer: row.consumer.name, id: row.streamSeq, redrive_id: seq, redriven_at: done!.at!.toISOString(), redriven_by: done!.by! };
  } catch (err) {
    // Not redriven after all: the claim goes back, so the same request can be sent again.
    await db.update(deadLetters).set({ redrivenAt: null, redrivenBy: null, redrivenByUserId: null }).where(eq(deadLetters.id, row.deadLetterId));
    throw err;
  }
}
