/**
 * Named consumers, subscriptions and dead letters: the service verbs behind the API and CLI.
 * A consumer's JetStream filter subjects are a pure function of the database ({@link consumerPlan}),
 * so any process can recompute and apply them: gateways on every pull, the reconciler on every
 * announced change and on its sweep.
 */
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import { readableEndpointIds, GRANTS_CHANGED_SUBJECT, type GrantsChanged } from "./acl.js";
import type { Db } from "./db/client.js";
import {
  consumers,
  deadLetters,
  endpoints,
  subscriptions,
  type Consumer,
  type DeadLetterReason,
  type StartPolicy,
  type Subscription,
  type SubscriptionFilters,
} from "./db/schema/index.js";
import { BrokerError } from "./errors.js";
import { CONSUMER_NAME, durableName } from "./naming.js";
import {
  compileFilters,
  filtersConflict,
  formatPattern,
  parsePattern,
  PatternError,
  patternWithin,
  type ReadableEndpoint,
  type SubjectFilter,
} from "./subscriptions/index.js";

export const DEFAULT_CONSUMER = "default";

export type ConsumerStart =
  | { policy: "all" }
  | { policy: "new" }
  | { policy: "time"; time: Date }
  | { policy: "sequence"; sequence: number };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkName(name: string): void {
  if (!CONSUMER_NAME.test(name)) throw new BrokerError("invalid_request", "consumer names are 1-32 chars of a-z, 0-9, '_', '-', starting with a letter or digit");
}

/** The user's default consumer row, created on first use (its durable starts at `all`). */
export async function ensureDefaultConsumer(db: Db, userId: string): Promise<Consumer> {
  const find = async () =>
    (await db.select().from(consumers).where(and(eq(consumers.userId, userId), eq(consumers.name, DEFAULT_CONSUMER))))[0];
  // Read first: every pull comes here, the insert is needed once per user.
  const existing = await find();
  if (existing) return existing;
  await db
    .insert(consumers)
    .values({ userId, name: DEFAULT_CONSUMER, durableName: durableName(userId, DEFAULT_CONSUMER) })
    .onConflictDoNothing();
  return (await find())!;
}

/**
 * One of the user's consumers by name; `default` is created on first use. Anything else he
 * does not have is `not_found`, whether or not another user has one by that name.
 */
export async function requireConsumer(db: Db, userId: string, name: string): Promise<Consumer> {
  if (name === DEFAULT_CONSUMER) return ensureDefaultConsumer(db, userId);
  const [row] = CONSUMER_NAME.test(name)
    ? await db.select().from(consumers).where(and(eq(consumers.userId, userId), eq(consumers.name, name)))
    : [];
  if (!row) throw new BrokerError("not_found", `consumer ${JSON.stringify(name)} not found`);
  return row;
}

export async function createConsumer(
  db: Db,
  userId: string,
  input: { name: string; start: ConsumerStart; maxDeliver?: number },
): Promise<Consumer> {
  checkName(input.name);
  const [row] = await db
    .insert(consumers)
    .values({
      userId,
      name: input.name,
      durableName: durableName(userId, input.name),
      startPolicy: input.start.policy,
      startTime: input.start.policy === "time" ? input.start.time : null,
      startSequence: input.start.policy === "sequence" ? input.start.sequence : null,
      maxDeliver: input.maxDeliver ?? null,
    })
    .onConflictDoNothing()
    .returning();
  if (!row) throw new BrokerError("conflict", `you already have a consumer named ${input.name}`);
  return row;
}

export async function listConsumers(db: Db, userId: string): Promise<Consumer[]> {
  return db.select().from(consumers).where(eq(consumers.userId, userId)).orderBy(asc(consumers.name));
}

/** Every consumer of every user (for the reconciler's sweep). */
export async function listAllConsumers(db: Db, userIds?: readonly string[]): Promise<Consumer[]> {
  const q = db.select().from(consumers);
  return userIds ? (userIds.length ? q.where(inArray(consumers.userId, [...userIds])) : []) : q;
}

/** Deletes the row (its subscriptions and dead letters go with it); the caller deletes the durable. */
export async function deleteConsumer(db: Db, userId: string, name: string): Promise<Consumer> {
  const row = await requireConsumer(db, userId, name);
  await db.delete(consumers).where(eq(consumers.id, row.id));
  return row;
}

export async function addFilteredCount(db: Db, consumerId: string, n: number): Promise<void> {
  if (n > 0) await db.update(consumers).set({ filteredCount: sql`${consumers.filteredCount} + ${n}` }).where(eq(consumers.id, consumerId));
}

export function startOf(c: Consumer): ConsumerStart {
  if (c.startPolicy === "time") return { policy: "time", time: c.startTime! };
  if (c.startPolicy === "sequence") return { policy: "sequence", sequence: c.startSequence! };
  return { policy: c.startPolicy as Exclude<StartPolicy, "time" | "sequence"> };
}

// --- subscriptions -------------------------------------------------------------------------

/** The pure view of a stored subscription. */
export function subjectFilterOf(s: Subscription): SubjectFilter {
  return { pattern: parsePattern(s.webhookPathPattern), events: s.filters.event_type };
}

/** Readable endpoints with their paths, from the single source of read access. */
export async function readableEndpoints(db: Db, userId: string): Promise<ReadableEndpoint[]> {
  const ids = await readableEndpointIds(db, userId);
  if (ids.length === 0) return [];
  const rows = await db.select({ id: endpoints.id, path: endpoints.path }).from(endpoints).where(inArray(endpoints.id, ids));
  return rows.map((r) => ({ id: r.id, segments: r.path.split("/") }));
}

/**
 * Creates a subscription on one of the user's consumers. Refuses (403) a pattern that reaches
 * outside the endpoints he may read, and (409) one that overlaps another subscription of the
 * same consumer partially (JetStream could not express their union exactly).
 */
export async function createSubscription(
  db: Db,
  userId: string,
  input: { pattern: string; filters: SubscriptionFilters; consumer: string },
): Promise<{ subscription: Subscription; consumer: Consumer }> {
  let pattern;
  try {
    pattern = parsePattern(input.pattern);
  } catch (err) {
    if (err instanceof PatternError) throw new BrokerError("invalid_request", `webhook_path_pattern: ${err.message}`);
    throw err;
  }
  const readable = await readableEndpoints(db, userId);
  if (!patternWithin(pattern, readable.map((e) => e.segments))) {
    throw new BrokerError(
      "forbidden",
      `webhook_path_pattern ${formatPattern(pattern)} reaches outside the endpoints you may read: it must start with the full path of one of them (e.g. /webhook/<endpoint path>/**), without wildcards`,
    );
  }
  const consumer = await requireConsumer(db, userId, input.consumer);
  const filters: SubscriptionFilters = {
    ...(input.filters.event_type ? { event_type: input.filters.event_type } : {}),
    ...(input.filters.payload ? { payload: input.filters.payload } : {}),
  };
  const wanted: SubjectFilter = { pattern, events: filters.event_type };
  const subscription = await db.transaction(async (tx) => {
    // Serializes subscription changes per consumer, so two requests cannot both pass the check.
    await tx.execute(sql`select 1 from ${consumers} where ${consumers.id} = ${consumer.id} for update`);
    const siblings = await tx.select().from(subscriptions).where(eq(subscriptions.consumerId, consumer.id));
    const clash = siblings.find((s) => filtersConflict(subjectFilterOf(s), wanted));
    if (clash) {
      throw new BrokerError(
        "conflict",
        `this subscription overlaps subscription ${clash.id} (${clash.webhookPathPattern}) only in part; JetStream cannot deliver exactly their union on one consumer: make one contain the other, or put them on different consumers`,
      );
    }
    const [row] = await tx
      .insert(subscriptions)
      .values({ userId, consumerId: consumer.id, webhookPathPattern: formatPattern(pattern), filters })
      .returning();
    return row!;
  });
  return { subscription, consumer };
}

export async function listSubscriptions(db: Db, userId: string): Promise<(Subscription & { consumerName: string })[]> {
  const rows = await db
    .select({ s: subscriptions, consumerName: consumers.name })
    .from(subscriptions)
    .innerJoin(consumers, eq(consumers.id, subscriptions.consumerId))
    .where(eq(subscriptions.userId, userId))
    .orderBy(asc(subscriptions.createdAt), asc(subscriptions.id));
  return rows.map((r) => ({ ...r.s, consumerName: r.consumerName }));
}

/** Deletes one of the user's subscriptions; a foreign or malformed id is `not_found`. */
export async function deleteSubscription(db: Db, userId: string, id: string): Promise<{ subscription: Subscription; consumer: Consumer }> {
  const [row] = UUID.test(id)
    ? await db.delete(subscriptions).where(and(eq(subscriptions.id, id), eq(subscriptions.userId, userId))).returning()
    : [];
  if (!row) throw new BrokerError("not_found", `subscription ${id} not found`);
  const [consumer] = await db.select().from(consumers).where(eq(consumers.id, row.consumerId));
  return { subscription: row, consumer: consumer! };
}

// --- the plan: what a consumer's durable should filter -----------------------------------

export interface ConsumerPlan {
  consumer: Consumer;
  /** Endpoint ids the owner may read now. */
  readable: Set<string>;
  /** Filter subjects for JetStream (sorted, non-overlapping, never empty). */
  filters: string[];
  /** Subscriptions (empty: everything readable), for the gateway's exact and payload checks. */
  subscriptions: Subscription[];
}

/** Computes a consumer's filter subjects from its subscriptions and its owner's current grants. */
export async function consumerPlan(db: Db, consumer: Consumer, readable?: ReadableEndpoint[]): Promise<ConsumerPlan> {
  const [eps, subs] = await Promise.all([
    readable ?? readableEndpoints(db, consumer.userId),
    db.select().from(subscriptions).where(eq(subscriptions.consumerId, consumer.id)).orderBy(asc(subscriptions.createdAt)),
  ]);
  const { subjects } = compileFilters(subs.map(subjectFilterOf), eps);
  return { consumer, readable: new Set(eps.map((e) => e.id)), filters: [...subjects].sort(), subscriptions: subs };
}

// --- dead letters ----------------------------------------------------------------------

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
  };
}

export async function countDeadLetters(db: Db, consumerId: string): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(deadLetters).where(eq(deadLetters.consumerId, consumerId));
  return row?.n ?? 0;
}

// --- announcements -----------------------------------------------------------------------

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
