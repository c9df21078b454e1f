import { sql } from "drizzle-orm";
import { bigint, check, integer, pgTable, text, unique } from "drizzle-orm/pg-core";
import { createdAt, instant, parentRef, primaryId } from "./columns.js";
import { users } from "./users.js";

/** Where a consumer starts reading when it is created. */
export type StartPolicy = "all" | "new" | "time" | "sequence";

/** A user's named durable consumers; `default` is created on first use. */
export const consumers = pgTable(
  "consumers",
  {
    id: primaryId(),
    userId: parentRef("user_id", () => users.id),
    name: text("name").notNull(),
    durableName: text("durable_name").notNull().unique(),
    /** Used when the JetStream durable is (re)created; an existing durable keeps its position. */
    startPolicy: text("start_policy").$type<StartPolicy>().notNull().default("all"),
    startTime: instant("start_time"),
    startSequence: bigint("start_sequence", { mode: "number" }),
    /** Deliveries after which a message is dead-lettered; null: unlimited. */
    maxDeliver: integer("max_deliver"),
    /** Messages the gateway acked without showing because a payload filter rejected them. */
    filteredCount: bigint("filtered_count", { mode: "number" }).notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    unique("consumers_user_name").on(t.userId, t.name),
    check("consumers_start", sql`(${t.startPolicy} in ('all', 'new')) or (${t.startPolicy} = 'time' and ${t.startTime} is not null) or (${t.startPolicy} = 'sequence' and ${t.startSequence} is not null)`),
    check("consumers_max_deliver", sql`${t.maxDeliver} is null or ${t.maxDeliver} >= 1`),
  ],
);

export type Consumer = typeof consumers.$inferSelect;
