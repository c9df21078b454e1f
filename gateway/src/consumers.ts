import {
  AckPolicy,
  DeliverPolicy,
  type Consumer,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { consumerPlan, type ConsumerStart, type Db, type ReadableEndpoint, type schema } from "@wb/authz";

/** How a durable is created; an existing durable keeps its position and these settings. */
export interface DurableOptions {
  start?: ConsumerStart;
  maxDeliver?: number | null;
}

interface Known {
  filters: string;
  consumer: Consumer;
  checkedAt: number;
}

/** The filter subjects a durable has now (sorted). */
export function currentFilters(info: ConsumerInfo): string[] {
  const c = info.config;
  return (c.filter_subjects?.length ? c.filter_subjects : c.filter_subject ? [c.filter_subject] : []).slice().sort();
}

/**
 * Keeps each durable pull consumer in line with what its owner may read. The consumer's
 * filter subjects are the enforcement point for NATS readers too; the per-process memory here
 * only saves round trips and holds nothing about what was fetched.
 */
export class ConsumerManager {
  #known = new Map<string, Known>();

  constructor(
    private readonly deps: { js: JetStreamClient; jsm: JetStreamManager; stream: string; ackWaitMs: number },
  ) {}

  /** Returns the durable consumer, creating it or narrowing/widening its filters first. */
  async ensure(durable: string, filters: string[], opts: DurableOptions = {}): Promise<Consumer> {
    const key = filters.join(",");
    const known = this.#known.get(durable);
    if (known && known.filters === key && Date.now() - known.checkedAt < 5_000) return known.consumer;

    const { jsm, js, stream } = this.deps;
    const info = await this.info(durable);
    if (!info) {
      await jsm.consumers.add(stream, this.#config(durable, filters, opts));
    } else if (currentFilters(info).join(",") !== key) {
      await this.update(durable, filters);
    }
    const consumer = await js.consumers.get(stream, durable);
    this.#known.set(durable, { filters: key, consumer, checkedAt: Date.now() });
    return consumer;
  }

  /** Drops what this process remembers about a durable (it was deleted elsewhere). */
  forget(durable: string): void {
    this.#known.delete(durable);
  }

  /** Creates the durable now (so `new` and `time` starts are anchored at creation). */
  async create(durable: string, filters: string[], opts: DurableOptions): Promise<void> {
    await this.deps.jsm.consumers.add(this.deps.stream, this.#config(durable, filters, opts));
  }

  /** Changes only the filter subjects: JetStream keeps the position and the ack state. */
  async update(durable: string, filters: string[]): Promise<void> {
    await this.deps.jsm.consumers.update(this.deps.stream, durable, { filter_subjects: filters, filter_subject: undefined });
    this.#known.delete(durable);
  }

  async info(durable: string): Promise<ConsumerInfo | undefined> {
    try {
      return await this.deps.jsm.consumers.info(this.deps.stream, durable);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Deletes the durable; a missing one is fine. */
  async remove(durable: string): Promise<void> {
    this.#known.delete(durable);
    try {
      await this.deps.jsm.consumers.delete(this.deps.stream, durable);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  #config(durable: string, filters: string[], opts: DurableOptions): Partial<ConsumerConfig> {
    const start = opts.start ?? { policy: "all" };
    return {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(this.deps.ackWaitMs),
      filter_subjects: filters,
      max_ack_pending: 10_000,
      ...(opts.maxDeliver ? { max_deliver: opts.maxDeliver } : {}),
      ...(start.policy === "all"
        ? { deliver_policy: DeliverPolicy.All }
        : start.policy === "new"
          ? { deliver_policy: DeliverPolicy.New }
          : start.policy === "time"
            ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.time.toISOString() }
            : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.sequence }),
    };
  }
}

/**
 * Brings an existing durable's filter subjects in line with its plan (subscriptions ∩ current
 * grants); true when it had to change. A missing durable is left alone: it is created with
 * its start policy on first use. Updating only filters keeps position and ack state.
 */
export async function applyPlan(manager: ConsumerManager, db: Db, row: schema.Consumer, readable?: ReadableEndpoint[]): Promise<boolean> {
  const plan = await consumerPlan(db, row, readable);
  const info = await manager.info(row.durableName);
  if (!info || currentFilters(info).join(",") === plan.filters.join(",")) return false;
  await manager.update(row.durableName, plan.filters);
  return true;
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { code?: number }; message?: string };
  return e?.code === 404 || e?.api_error?.code === 404 || /not found/i.test(String(e?.message));
}
