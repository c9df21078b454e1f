import { Hono } from "hono";
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { Database } from "@wb/authz";
import type { EndpointCache } from "../endpoint-cache.js";
import type { NatsLink } from "../nats/link.js";
import { percentFull } from "../nats/purge.js";
import type { DatabaseReadiness } from "../middleware/require-database.js";

export interface HealthDeps {
  nc: NatsConnection;
  jsm: JetStreamManager;
  database: Database;
  endpoints: EndpointCache;
  stream: string;
  /** When given, a connection known to be down is reported at once, not after the API timeout. */
  link?: NatsLink;
  /** The gateway's start on PostgreSQL; until it is done, postgres is reported down with its reason. */
  startup?: DatabaseReadiness;
  /** STREAM_PURGE_ACKED_AT (null: off), shown beside how full the stream is. */
  purgeAckedAt?: number | null;
}

export function healthRoutes(deps: HealthDeps) {
  const app = new Hono();
  // Liveness: the process serves requests.
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  // Readiness: it can store (JetStream answers for our stream) and authorize (PostgreSQL answers).
  // `?for=ingest` leaves PostgreSQL out: ingest needs only JetStream and the endpoint cache, so a
  // load balancer in front of /webhook must not turn a database outage into an ingest outage.
  app.get("/readyz", async (c) => {
    const scope = c.req.query("for") ?? "all";
    if (scope !== "all" && scope !== "ingest") {
      return c.json({ error: { code: "invalid_request", message: "for must be ingest or all" } }, 400);
    }
    let stream: Record<string, unknown> | undefined;
    const checks = await Promise.all([
      deps.link && !deps.link.up
        ? "down: not connected to NATS (reconnecting)"
        : deps.jsm.streams.info(deps.stream).then(
            (info) => {
              // How full it is: a full stream refuses new deliveries (503) but the gateway is not broken.
              const percent = percentFull(info);
              stream = { messages: info.state.messages, bytes: info.state.bytes, max_bytes: info.config.max_bytes, max_msgs: info.config.max_msgs, percent_full: percent, full: percent >= 100, purge_acked_at: deps.purgeAckedAt ?? null };
              return "ok";
            },
            (e: Error) => `down: ${e.message}`,
          ),
      scope !== "all"
        ? undefined
        : deps.startup && !deps.startup.ready
          ? `down: ${deps.startup.problem ?? "not started"}`
          : deps.database.pool.query("select 1").then(() => "ok", (e: Error) => `down: ${e.message}`),
    ]);
    const result = { jetstream: checks[0], ...(checks[1] !== undefined && { postgres: checks[1] }), endpoint_cache: deps.endpoints.ready ? "ok" : "not loaded" };
    const ok = Object.values(result).every((v) => v === "ok");
    return c.json({ status: ok ? "ok" : "unavailable", checks: result, ...(stream && { stream }) }, ok ? 200 : 503);
  });
  return app;
}
