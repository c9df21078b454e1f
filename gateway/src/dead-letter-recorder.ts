import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { recordDeadLetter, type Db, type schema } from "@wb/authz";
import type { Logger } from "pino";
import { lookup } from "./deliveries.js";
import type { GatewayMetrics } from "./metrics.js";

/**
 * JetStream has no dead-letter queue. When a consumer gives up on a message (`max_deliver`
 * reached) or a reader terminates it, the server publishes an advisory; every gateway listens
 * and records it in PostgreSQL (the first insert wins, so several gateways are fine).
 * Advisories are core NATS messages: one published while no gateway is connected is not
 * recorded (the message itself stays in the stream and can still be replayed).
 */
export class DeadLetterRecorder {
  #subs: Subscription[] = [];

  constructor(private readonly o: { db: Db; nc: NatsConnection; jsm: JetStreamManager; stream: string; log: Logger; metrics?: Pick<GatewayMetrics, "deadLetters"> }) {}

  start(): void {
    const listen = (kind: string, reason: schema.DeadLetterReason) =>
      this.o.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.${kind}.${this.o.stream}.*`, {
        callback: (_e, m) => void this.#record(m.data, reason),
      });
    this.#subs = [listen("MAX_DELIVERIES", "max_deliveries"), listen("MSG_TERMINATED", "terminated")];
  }

  stop(): void {
    for (const s of this.#subs) s.unsubscribe();
  }

  async #record(data: Uint8Array, reason: schema.DeadLetterReason): Promise<void> {
    try {
      const a = JSON.parse(new TextDecoder().decode(data)) as { consumer?: string; stream_seq?: number; deliveries?: number };
      if (typeof a.consumer !== "string" || typeof a.stream_seq !== "number") return;
      const endpointId = await lookup(this.o.jsm, this.o.stream, a.stream_seq).catch(() => undefined);
      const recorded = await recordDeadLetter(this.o.db, { durable: a.consumer, streamSeq: a.stream_seq, deliveryCount: a.deliveries ?? 0, reason, endpointId });
      // Only the gateway whose insert won counts it: summed over gateways, each dead letter once.
      if (recorded) this.o.metrics?.deadLetters.inc({ reason });
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, "recording a dead letter failed");
    }
  }
}
