import type { Consumer, ConsumerConfig, ConsumerInfo, JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Db } from "../db/client.js";
import type { CacheMetrics } from "../metrics.js";
import type { Consumer as ConsumerRow } from "../db/schema/index.js";
import { subjectMatches, type ReadableEndpoint } from "../subscriptions/index.js";
import { ackPayload, ackSubject } from "./ack.js";
import type { ConsumerStart } from "../consumers.js";
import { definedConfig, durableConfig, filtersOf, sameFilters, type DurableRow } from "./config.js";
import { isConsumerExists, isConsumerNotFound } from "./errors.js";
import { consumerPlan } from "./plan.js";

export interface ConsumerManagerDeps {
  jsm: JetStreamManager;
  /** Defaults to the manager's own client (`jsm.jetstream()`). */
  js?: JetStreamClient;
  stream: string;
  /** The ack wait of durables this process creates (the gateway's ACK_WAIT); needed by create/ensure. */
  ackWaitMs?: number;
  /**
   * Publishes the acks that settle deliveries a narrowed durable no longer selects (see
   * update). Without it those deliveries are redelivered after the ack wait, to HTTP readers
   * (who do not see them) and to NATS readers (who would).
   */
  nc?: Pick<NatsConnection, "publish" | "flush">;
  /** Counts {@link ConsumerManager.ensure}'s lookups (cache `consumer`). */
  metrics?: CacheMetrics;
}

/** Most stream lookups one narrowing makes per removed filter subject. */
export const MAX_SETTLE_LOOKUPS = 10_000;

interface Known {
  filters: string;
  consumer: Consumer;
  checkedAt: number;
}

/** How long a durable checked by {@link ConsumerManager.ensure} is trusted without asking again. */
export const ENSURE_TRUST_MS = 5_000;

/**
 * Creates, updates and deletes users' durable pull consumers on one stream. The durable's
 * filter subjects are the enforcement point for NATS readers too; the per-process memory here
 * only saves round trips and holds nothing about what was fetched.
 */
export class ConsumerManager {
  #known = new Map<string, Known>();
  readonly #js: JetStreamClient;

  constructor(private readonly deps: ConsumerManagerDeps) {
    this.#js = deps.js ?? deps.jsm.jetstream();
  }

  get stream(): string {
    return this.deps.stream;
  }

  /**
   * Returns the row's durable for pulling, creating it (with the row's start and max_deliver)
   * or bringing its filters to `filters` first. An existing durable keeps its position.
   */
  async ensure(row: DurableRow, filters: string[]): Promise<Consumer> {
    const durable = row.durableName;
    const key = [...filters].sort().join(",");
    const known = this.#known.get(durable);
    const trusted = known?.filters === key;
    if (known && trusted && Date.now() - known.checkedAt < ENSURE_TRUST_MS) {
      this.deps.metrics?.lookups.inc({ cache: "consumer", result: "hit" });
      return known.consumer;
    }
    this.deps.metrics?.lookups.inc({ cache: "consumer", result: "miss" });
    // Known with the same filters but no longer trusted: a reload of that entry.
    const reload = (result: string) => trusted && this.deps.metrics?.reloads.inc({ cache: "consumer", result });

    let info: ConsumerInfo | undefined;
    try {
      info = await this.info(durable);
    } catch (err) {
      reload("error");
      throw err;
    }
    reload("ok");
    if (!info) await this.#add(durableConfig(row, filters, { ackWaitMs: this.#ackWaitMs() }));
    else if (!sameFilters(filtersOf(info), filters)) await this.update(durable, filters, info);
    const consumer = await this.#js.consumers.get(this.deps.stream, durable);
    this.#known.set(durable, { filters: key, consumer, checkedAt: Date.now() });
    return consumer;
  }

  /** Drops what this process remembers about a durable (it was deleted elsewhere). */
  forget(durable: string): void {
    this.#known.delete(durable);
  }

  /**
   * Creates the row's durable now (so `new` and `time` starts are anchored at creation);
   * `start` overrides the row's start (a rewind of a durable that did not exist yet).
   */
  async create(row: DurableRow, filters: string[], start?: ConsumerStart): Promise<void> {
    await this.#add(durableConfig(row, filters, { ackWaitMs: this.#ackWaitMs(), start }));
  }

  /**
   * Restarts an existing durable from `start` (rewind) or from its row's start (recreate):
   * JetStream cannot move a position, so it is deleted and created again from its definition
   * (definedConfig: `filters`, the row's max_deliver, the current ack settings). Returns its new
   * state, or undefined when the durable does not exist. The admin CLI and the API both rewind here.
   */
  async rebuild(row: DurableRow, filters: string[], start?: ConsumerStart): Promise<ConsumerInfo | undefined> {
    const before = await this.info(row.durableName);
    if (!before) return undefined;
    await this.recreate(definedConfig(before.config, row, filters, start));
    return this.info(row.durableName);
  }

  /**
   * Changes only the filter subjects: JetStream keeps the position and the ack state. JetStream
   * also keeps redelivering what was delivered and not acked, whatever the new filters say; so
   * the deliveries still pending that the new filters no longer select (a grant removed, a
   * subscription narrowed) are acked here, on this durable only: that copy was the user's, the
   * message stays in the stream for everyone else (and for his replay, should the grant return).
   * `before`: the durable's info before the change, when the caller has it.
   */
  async update(durable: string, filters: string[], before?: ConsumerInfo): Promise<void> {
    this.#known.delete(durable);
    const old = before ?? (await this.info(durable));
    await this.deps.jsm.consumers.update(this.deps.stream, durable, { filter_subjects: filters, filter_subject: undefined });
    if (old) await this.#settleUnselected(durable, filtersOf(old), filters);
  }

  /** Acks the durable's pending deliveries that match a removed filter and no remaining one. */
  async #settleUnselected(durable: string, oldFilters: readonly string[], filters: readonly string[]): Promise<number> {
    const removed = oldFilters.filter((f) => !filters.includes(f));
    const nc = this.deps.nc;
    if (removed.length === 0 || !nc) return 0;
    // Read after the update: anything delivered under the old filters was delivered before it.
    const now = await this.info(durable);
    if (!now || now.num_ack_pending === 0) return 0;
    const from = now.ack_floor.stream_seq + 1;
    const to = now.delivered.stream_seq;
    const settle = new Set<number>();
    for (const filter of removed) {
      let seq = from;
      for (let lookups = 0; seq <= to && lookups < MAX_SETTLE_LOOKUPS; lookups++) {
        const m = await this.deps.jsm.direct.getMessage(this.deps.stream, { seq, next_by_subj: filter }).catch(() => null);
        if (!m || m.seq > to) break;
        if (!filters.some((f) => subjectMatches(f, m.subject))) settle.add(m.seq);
        seq = m.seq + 1;
      }
    }
    // Acking a sequence that is not pending (acked already, never delivered) does nothing.
    for (const streamSeq of settle) nc.publish(ackSubject({ stream: this.deps.stream, durable, streamSeq }), ackPayload("ack"));
    if (settle.size) await nc.flush();
    return settle.size;
  }

  /** The durable's state, or undefined when it does not exist. */
  info(durable: string): Promise<ConsumerInfo | undefined> {
    return unlessMissing(() => this.deps.jsm.consumers.info(this.deps.stream, durable), undefined);
  }

  /** Deletes the durable; true when it existed. */
  async remove(durable: string): Promise<boolean> {
    this.#known.delete(durable);
    return unlessMissing(() => this.deps.jsm.consumers.delete(this.deps.stream, durable), false);
  }

  /**
   * Deletes the durable and creates it with `config` (JetStream cannot move a position). If
   * something created it again in between (a gateway serving a pull), deletes and creates once more.
   */
  async recreate(config: ConsumerConfig): Promise<void> {
    const name = config.durable_name ?? config.name!;
    // Server-set metadata (`_nats.*`) is refused on create.
    const metadata = Object.fromEntries(Object.entries(config.metadata ?? {}).filter(([k]) => !k.startsWith("_nats")));
    const want: Partial<ConsumerConfig> = { ...config, metadata: Object.keys(metadata).length ? metadata : undefined };
    for (let attempt = 0; ; attempt++) {
      await this.remove(name);
      try {
        await this.deps.jsm.consumers.add(this.deps.stream, want);
        return;
      } catch (err) {
        if (attempt === 0 && isConsumerExists(err)) continue;
        throw err;
      }
    }
  }

  /**
   * Brings an existing durable's filter subjects in line with its plan (subscriptions ∩ current
   * grants); true when it had to change. A missing durable is left alone: it is created with its
   * start policy on first use. Updating only filters keeps position and ack state.
   */
  async applyPlan(db: Db, row: ConsumerRow, readable?: ReadableEndpoint[]): Promise<boolean> {
    const plan = await consumerPlan(db, row, readable);
    const info = await this.info(row.durableName);
    if (!info || sameFilters(filtersOf(info), plan.filters)) return false;
    try {
      await this.update(row.durableName, plan.filters, info);
    } catch (err) {
      if (isConsumerNotFound(err)) return false; // deleted meanwhile: created afresh on first use
      throw err;
    }
    return true;
  }

  async #add(config: Partial<ConsumerConfig>): Promise<void> {
    await this.deps.jsm.consumers.add(this.deps.stream, config);
  }

  #ackWaitMs(): number {
    if (this.deps.ackWaitMs === undefined) throw new Error("ConsumerManager: ackWaitMs is needed to create durables");
    return this.deps.ackWaitMs;
  }
}

/** `op`'s result, or `missing` when JetStream says the consumer does not exist. */
async function unlessMissing<T, M>(op: () => Promise<T>, missing: M): Promise<T | M> {
  try {
    return await op();
  } catch (err) {
    if (isConsumerNotFound(err)) return missing;
    throw err;
  }
}
