/**
 * The gateway's Prometheus metrics, all in one place (authz/src/metrics.ts has the shared pieces
 * and the groups this one reuses). To add one: one line below, one call where it happens.
 *
 * Label values are bounded: providers and outcomes are fixed sets, routes are Hono's route
 * patterns (`/api/v1/endpoints/:id`, never the path sent), users go through a {@link LabelCap}
 * and durables are the top N by lag.
 */
import { cacheMetrics, createRegistry, dbMetrics, HTTP_BUCKETS, LabelCap, metricsOn, type Registry } from "@wb/authz";

export interface GatewayMetricsOptions {
  /** Distinct users with their own series in per-user metrics; the rest count as `_other`. */
  maxUsers?: number;
}

export function createGatewayMetrics(registry: Registry = createRegistry({ processMetrics: false }), opts: GatewayMetricsOptions = {}) {
  const m = metricsOn(registry);
  return {
    registry,
    /** Per-user label values (user names), capped. */
    users: new LabelCap(opts.maxUsers ?? 500),
    db: dbMetrics(m),
    cache: cacheMetrics(m),

    httpDuration: m.histogram(
      "wb_http_request_duration_seconds",
      "HTTP request time, by method, route pattern and status (webhook ingest is route /webhook/*)",
      ["method", "route", "status"],
      HTTP_BUCKETS,
    ),
    deliveries: m.counter(
      "wb_webhook_deliveries_total",
      "Webhook deliveries received, by provider (unknown before an endpoint matched) and outcome: stored, duplicate, reply (answered by the provider's handshake), or the HTTP status of a refusal (401, 404, 413, 429, 503, ...)",
      ["provider", "outcome"],
    ),
    publishDuration: m.histogram("wb_jetstream_publish_duration_seconds", "JetStream publish time of one delivery (until the stream's ack), by result (stored, duplicate, error)", ["result"]),
    delivered: m.counter("wb_messages_delivered_total", "Messages handed to readers over HTTP, by user and mode: pull and replay (GET /api/v1/messages), stream (events written to GET /api/v1/messages/stream)", ["user", "mode"]),
    settled: m.counter("wb_messages_settled_total", "Messages settled through the API, by user and kind (ack, nak, in_progress, term)", ["user", "kind"]),
    settledRepeats: m.counter(
      "wb_settled_redeliveries_suppressed_total",
      "Deliveries of messages acked or termed with a 200 that came back after nats-server lost the consumer's state (a crash): settled again from the settlement journal and not shown",
    ),
    consumerPending: m.gauge("wb_consumer_pending_messages", "Messages a durable has not delivered yet (num_pending), sampled, for the top durables by lag", ["durable"]),
    consumerAckPending: m.gauge("wb_consumer_ack_pending_messages", "Messages a durable delivered and nobody settled yet (num_ack_pending), sampled, for the top durables by lag", ["durable"]),
    consumersPendingSum: m.gauge("wb_consumers_pending_messages_sum", "num_pending summed over every durable on the stream, sampled"),
    consumersAckPendingSum: m.gauge("wb_consumers_ack_pending_messages_sum", "num_ack_pending summed over every durable on the stream, sampled"),
    consumers: m.gauge("wb_consumers", "Durables on the stream, sampled"),
    streamPercentFull: m.gauge("wb_stream_percent_full", "How full the stream is against its max bytes / max messages (the larger), 0-100, sampled; ingest answers 503 at 100"),
    deadLetters: m.counter("wb_dead_letters_total", "Dead letters recorded by this gateway (each advisory is recorded once across gateways), by reason (max_deliveries, terminated)", ["reason"]),
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
