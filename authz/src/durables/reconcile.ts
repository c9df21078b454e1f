import type { Concerned } from "../access-changes.js";
import { listAllConsumers } from "../consumers.js";
import type { Db } from "../db/client.js";
import { readableEndpoints, type ReadableEndpoint } from "../subscriptions/index.js";
import type { ConsumerManager } from "./manager.js";

export interface ReconcileLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Brings the durables of some users (or everyone's) to their plan; returns how many changed.
 * Only filter subjects of durables that exist are updated, which keeps position and ack state.
 * Idempotent: every gateway runs it on each announcement and sweep, and they converge on the
 * same value because each computes it from the database alone.
 */
export async function reconcileDurables(deps: { db: Db; consumers: ConsumerManager; log?: ReconcileLogger }, users: Concerned): Promise<number> {
  const rows = await listAllConsumers(deps.db, users === "all" ? undefined : users);
  const readableByUser = new Map<string, Promise<ReadableEndpoint[]>>();
  let updated = 0;
  for (const row of rows) {
    if (!readableByUser.has(row.userId)) readableByUser.set(row.userId, readableEndpoints(deps.db, row.userId));
    try {
      if (await deps.consumers.applyPlan(deps.db, row, await readableByUser.get(row.userId)!)) updated++;
    } catch (err) {
      deps.log?.warn({ err: (err as Error).message, durable: row.durableName }, "consumer reconciliation failed");
    }
  }
  if (updated) deps.log?.info({ updated }, "durable consumers' filter subjects updated");
  return updated;
}
