import type { JetStreamManager } from "@nats-io/jetstream";
import type { Logger } from "pino";
import type { GatewayMetrics } from "./metrics.js";
import { percentFull } from "./nats/purge.js";

export interface LagSample {
  durable: string;
  pending: number;
  ackPending: number;
}

/** The `top` samples with the most lag (pending + ack pending), largest first; ties by name. */
export function topByLag(samples: readonly LagSample[], top: number): LagSample[] {
  return [...samples]
    .sort((a, b) => b.pending + b.ackPending - (a.pending + a.ackPending) || a.durable.localeCompare(b.durable))
    .slice(0, top);
}

/**
 * Consumer lag, sampled when /metrics is scraped and at most once per `intervalMs` (no work while
 * nobody scrapes): lists the stream's durables (ephemeral replays are not lag) and publishes
 * num_pending and num_ack_pending for the `top` durables by lag (bounded cardinality: a durable
 * that leaves the top N loses its series), plus sums over all of them. A slow listing is cut at
 * `timeoutMs` and the previous sample stays. How full the stream is is sampled with it.
 */
export class ConsumerLagSampler {
  #sampledAt = Number.NEGATIVE_INFINITY;
  #running?: Promise<void>;

  constructor(
    private readonly o: {
      jsm: JetStreamManager;
      stream: string;
      metrics: GatewayMetrics;
      top: number;
      intervalMs: number;
      timeoutMs?: number;
      log: Logger;
    },
  ) {}

  async refresh(): Promise<void> {
    if (performance.now() - this.#sampledAt < this.o.intervalMs) return;
    this.#running ??= this.#sample().finally(() => (this.#running = undefined));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#running, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.o.timeoutMs ?? 5_000)))]);
    clearTimeout(timer);
  }

  async #sample(): Promise<void> {
    try {
      const samples: LagSample[] = [];
      for await (const ci of this.o.jsm.consumers.list(this.o.stream)) {
        if (!ci.config.durable_name) continue;
        samples.push({ durable: ci.name, pending: ci.num_pending, ackPending: ci.num_ack_pending });
      }
      const m = this.o.metrics;
      m.consumerPending.reset();
      m.consumerAckPending.reset();
      for (const s of topByLag(samples, this.o.top)) {
        m.consumerPending.set({ durable: s.durable }, s.pending);
        m.consumerAckPending.set({ durable: s.durable }, s.ackPending);
      }
      m.consumersPendingSum.set(samples.reduce((n, s) => n + s.pending, 0));
      m.consumersAckPendingSum.set(samples.reduce((n, s) => n + s.ackPending, 0));
      m.consumers.set(samples.length);
      m.streamPercentFull.set(percentFull(await this.o.jsm.streams.info(this.o.stream)));
      this.#sampledAt = performance.now();
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, "sampling consumer lag failed");
    }
  }
}
