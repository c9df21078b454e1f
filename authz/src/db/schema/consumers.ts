import { sql } from "drizzle-orm";
import { bigint, check, integer, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { users } from "./users.js";

/** Where a consumer starts reading when it is created. */
export type StartPolicy = "all" | "new" | "time" | "sequence";

/** A user's named durable consumers; `default` is created on first use. */
export const consumers = pgTable(
  "consumers",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    durableName: text("durable_name").notNull().unique(),
    /** Used when the JetStream durable is (re)created; an existing durable keeps its position. */
    startPolicy: text("start_policy").$type<StartPolicy>().notNull().default("all"),
    startTime: timestamp("start_time", { withTimezone: true }),
    startSequence: bigint("start_sequence", { mode: "number" }),
    /** Deliveries after which a message is dead-lettered; null: unlimited. */
    maxDeliver: integer("max_deliver"),
    /** Messages the gateway acked without showing because a payload filter rejected them. */
    filteredCount: bigint("filtered_count", { mode: "number" }).notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("consumers_user_name").on(t.userId, t.name),
    check("consumers_start", sql`(${t.startPolicy} in ('all', 'new')) or (${t.startPolicy} = 'time' and ${t.startTime} is not null) or (${t.startPolicy} = 'sequence' and ${t.startSequence} is not null)`),
    check("consumers_max_deliver", sql`${t.maxDeliver} is null or ${t.maxDeliver} >= 1`),
  ],
);

export type Consumer = typeof consumers.$inferSelect;
