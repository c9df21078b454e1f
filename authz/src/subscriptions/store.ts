/**
 * A user's subscriptions: the stored filters that narrow one of his consumers. The pure parts
 * (patterns, compilation to filter subjects) are beside this file; these are the service verbs.
 */
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { readableEndpointIds } from "../acl.js";
import { requireConsumer } from "../consumers.js";
import type { Db } from "../db/client.js";
import { consumers, endpoints, subscriptions, type Consumer, type Subscription, type SubscriptionFilters } from "../db/schema/index.js";
import { BrokerError } from "../errors.js";
import { formatPattern, parsePattern, PatternError, patternWithin } from "./pattern.js";
import { filtersConflict, type ReadableEndpoint, type SubjectFilter } from "./compile.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
