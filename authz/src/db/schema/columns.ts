import { type AnyPgColumn, timestamp, uuid } from "drizzle-orm/pg-core";

/** Column shapes every table shares, so each table file states only what is its own. */

/** A random UUID primary key named `id`. */
export const primaryId = () => uuid("id").primaryKey().defaultRandom();

/** A point in time (timestamptz). */
export const instant = (name: string) => timestamp(name, { withTimezone: true });

/** When the row was created. */
export const createdAt = () => instant("created_at").notNull().defaultNow();

/** A required reference to a parent row that goes with its parent. */
export const parentRef = (name: string, target: () => AnyPgColumn) =>
  uuid(name).notNull().references(target, { onDelete: "cascade" });
