import { index, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, parentRef, primaryId } from "./columns.js";
import { consumers } from "./consumers.js";
import { users } from "./users.js";

/** What a subscription asks for beyond its path pattern. */
export interface SubscriptionFilters {
  /** Event types, enforced by JetStream (they are a subject token). Absent: every event. */
  event_type?: string[];
  /** Dotted JSON path → value or one-of list, enforced by the gateway before delivery. */
  payload?: Record<string, string | number | boolean | null | (string | number | boolean | null)[]>;
}

/** A user's subscription: narrows one of his consumers to a path pattern and filters. */
export const subscriptions = pgTable(
  "subscriptions",
  {
    id: primaryId(),
    userId: parentRef("user_id", () => users.id),
    consumerId: parentRef("consumer_id", () => consumers.id),
    /** Canonical form (`/webhook/…`), see subscriptions/pattern.ts. */
    webhookPathPattern: text("webhook_path_pattern").notNull(),
    filters: jsonb("filters").$type<SubscriptionFilters>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [index("subscriptions_consumer_idx").on(t.consumerId), index("subscriptions_user_idx").on(t.userId)],
);

export type Subscription = typeof subscriptions.$inferSelect;
