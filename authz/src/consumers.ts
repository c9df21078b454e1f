/**
 * Named consumers: the `consumers` rows behind the API and CLI. Each row is one JetStream
 * durable (durables/ owns those); subscriptions, dead letters and announcements have their own
 * modules.
 */
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "./db/client.js";
import { consumers, type Consumer, type StartPolicy } from "./db/schema/index.js";
import { BrokerError } from "./errors.js";
import { CONSUMER_NAME, durableName } from "./naming.js";
import { CONSUMER_NAME_RULE, startTimeProblem } from "./rules/limits.js";

export const DEFAULT_CONSUMER = "default";

export type ConsumerStart =
  | { policy: "all" }
  | { policy: "new" }
  | { policy: "time"; time: Date }
  | { policy: "sequence"; sequence: number };


function checkName(name: string): void {
  if (!CONSUMER_NAME.test(name)) throw new BrokerError("invalid_request", CONSUMER_NAME_RULE);
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
  const badTime = input.start.policy === "time" ? startTimeProblem(input.start.time) : undefined;
  if (badTime) throw new BrokerError("invalid_request", badTime);
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

export function startOf(c: Pick<Consumer, "startPolicy" | "startTime" | "startSequence">): ConsumerStart {
  if (c.startPolicy === "time") return { policy: "time", time: c.startTime! };
  if (c.startPolicy === "sequence") return { policy: "sequence", sequence: c.startSequence! };
  return { policy: c.startPolicy as Exclude<StartPolicy, "time" | "sequence"> };
}
