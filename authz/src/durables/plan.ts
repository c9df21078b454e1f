/**
 * What a consumer's durable should filter: a pure function of the database (its subscriptions
 * and its owner's current grants), so any process can recompute and apply it: gateways on
 * every pull, the reconciler on every announced change and on its sweep.
 */
import { asc, eq } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { subscriptions, type Consumer, type Subscription } from "../db/schema/index.js";
import { redriveFilters } from "../subjects.js";
import { compileFilters, readableEndpoints, subjectFilterOf, type ReadableEndpoint } from "../subscriptions/index.js";

export interface ConsumerPlan {
  consumer: Consumer;
  /** Endpoint ids the owner may read now. */
  readable: Set<string>;
  /**
   * Filter subjects for JetStream (sorted, non-overlapping, never empty): the deliveries its
   * subscriptions select, and the redrive copies (subjects.ts) of the endpoints those name.
   */
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
  return { consumer, readable: new Set(eps.map((e) => e.id)), filters: [...subjects, ...redriveFilters(consumer.durableName, subjects)].sort(), subscriptions: subs };
}
