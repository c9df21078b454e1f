import {
  AckPolicy,
  DeliverPolicy,
  type Consumer,
  type JetStreamClient,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { endpointGrantSubject, NOTHING_SUBJECT } from "@wb/authz";

/** Filter subjects that grant exactly the given endpoints (sorted, so comparable). */
export function grantFilters(endpointIds: readonly string[]): string[] {
  return endpointIds.length === 0 ? [NOTHING_SUBJECT] : endpointIds.map(endpointGrantSubject).sort();
}

interface Known {
  filters: string;
  consumer: Consumer;
  checkedAt: number;
}

/**
 * Keeps each user's durable pull consumer in line with what he may read. The consumer's
 * filter subjects are the enforcement point for NATS readers too; the per-process memory here
 * only saves round trips and holds nothing about what was fetched.
 */
export class ConsumerManager {
  #known = new Map<string, Known>();

  constructor(
    private readonly deps: { js: JetStreamClient; jsm: JetStreamManager; stream: string; ackWaitMs: number },
  ) {}

  /** Returns the durable consumer, creating it or narrowing/widening its filters first. */
  async ensure(durable: string, filters: string[]): Promise<Consumer> {
    const key = filters.join(",");
    const known = this.#known.get(durable);
    if (known && known.filters === key && Date.now() - known.checkedAt < 5_000) return known.consumer;

    const { jsm, js, stream } = this.deps;
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(this.deps.ackWaitMs),
      deliver_policy: DeliverPolicy.All,
      filter_subjects: filters,
      max_ack_pending: 10_000,
    };
    let info;
    try {
      info = await jsm.consumers.info(stream, durable);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!info) {
      await jsm.consumers.add(stream, config);
    } else if ((info.config.filter_subjects ?? [info.config.filter_subject]).slice().sort().join(",") !== key) {
      await jsm.consumers.update(stream, durable, { filter_subjects: filters, filter_subject: undefined });
    }
    const consumer = await js.consumers.get(stream, durable);
    this.#known.set(durable, { filters: key, consumer, checkedAt: Date.now() });
    return consumer;
  }
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { code?: number }; message?: string };
  return e?.code === 404 || e?.api_error?.code === 404 || /not found/i.test(String(e?.message));
}
