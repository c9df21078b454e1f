/**
 * A durable's JetStream config as a pure function of its `consumers` row and its filter plan.
 * Every process that creates or rebuilds a durable (gateway, admin CLI, tests) goes through
 * here, so the start-policy mapping exists once.
 */
import { AckPolicy, DeliverPolicy, type ConsumerConfig, type ConsumerInfo } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { startOf, type ConsumerStart } from "../consumers.js";
import type { Consumer } from "../db/schema/index.js";

/** How many deliveries may wait for an ack at once, per durable. */
export const MAX_ACK_PENDING = 10_000;

/** A start policy as JetStream deliver settings. */
export function deliverSettings(start: ConsumerStart): Pick<ConsumerConfig, "deliver_policy" | "opt_start_seq" | "opt_start_time"> {
  switch (start.policy) {
    case "all":
      return { deliver_policy: DeliverPolicy.All };
    case "new":
      return { deliver_policy: DeliverPolicy.New };
    case "time":
      return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.time.toISOString() };
    case "sequence":
      return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.sequence };
  }
}

/** The row's settings that become the durable's (the rest of the row is the broker's). */
export type DurableRow = Pick<Consumer, "durableName" | "startPolicy" | "startTime" | "startSequence" | "maxDeliver">;

/** The config a new durable is created with: explicit acks, the row's start (unless `opts.start`) and max_deliver. */
export function durableConfig(row: DurableRow, filters: readonly string[], opts: { ackWaitMs: number; start?: ConsumerStart }): Partial<ConsumerConfig> {
  return {
    durable_name: row.durableName,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(opts.ackWaitMs),
    filter_subjects: [...filters],
    max_ack_pending: MAX_ACK_PENDING,
    ...(row.maxDeliver ? { max_deliver: row.maxDeliver } : {}),
    ...deliverSettings(opts.start ?? startOf(row)),
  };
}

/**
 * An existing durable's config rebuilt from its definition: filter subjects from the plan,
 * max_deliver and (unless `start` overrides it) the start from the row; everything else of
 * `current` (ack wait, max ack pending) kept. For delete-and-create (rewind, recreate).
 */
export function definedConfig(current: ConsumerConfig, row: DurableRow, filters: readonly string[], start?: ConsumerStart): ConsumerConfig {
  const {
    deliver_policy: _policy,
    opt_start_seq: _seq,
    opt_start_time: _time,
    filter_subject: _filter,
    filter_subjects: _filters,
    max_deliver: _maxDeliver,
    ...rest
  } = current;
  return { ...rest, ...deliverSettings(start ?? startOf(row)), filter_subjects: [...filters], max_deliver: row.maxDeliver ?? -1 };
}

/** The filter subjects a durable has now, sorted (it may carry the single `filter_subject` form). */
export function filtersOf(info: Pick<ConsumerInfo, "config">): string[] {
  const c = info.config;
  return (c.filter_subjects?.length ? c.filter_subjects : c.filter_subject ? [c.filter_subject] : []).slice().sort();
}

/** Same set of filter subjects, whatever the order. */
export function sameFilters(a: readonly string[], b: readonly string[]): boolean {
  return [...a].sort().join(",") === [...b].sort().join(",");
}
