import { createRoute, z } from "@hono/zod-openapi";
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamManager } from "@nats-io/jetstream";
import { BrokerError, type Database } from "@wb/authz";
import type { EndpointCache } from "../endpoint-cache.js";
import type { NatsLink } from "../nats/link.js";
import { percentFull } from "../nats/purge.js";
import type { DatabaseReadiness } from "../middleware/require-database.js";
import { declare, errors, json, router } from "../openapi.js";

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

const check = z.string().openapi({ description: "`ok`, or what is wrong (`down: ...`, `not loaded`)" });
const Readiness = z.object({
  status: z.enum(["ok", "unavailable"]),
  checks: z.object({ jetstream: check, postgres: check.optional(), endpoint_cache: check }),
  stream: z
    .object({
      messages: z.number().int(),
      bytes: z.number().int(),
      max_bytes: z.number().int(),
      max_msgs: z.number().int(),
      percent_full: z.number(),
      full: z.boolean().openapi({ description: "A full stream refuses new deliveries (503); the gateway is not broken" }),
      purge_acked_at: z.number().nullable(),
    })
    .optional()
    .openapi({ description: "How full the stream is (when JetStream answered)" }),
});

export function healthRoutes(deps: HealthDeps) {
  const app = router();
  // Liveness: the process serves requests.
  declare(
    app,
    createRoute({
      method: "get",
      path: "/healthz",
      tags: ["health"],
      summary: "Liveness: the process serves requests",
      responses: { 200: json(z.object({ status: z.literal("ok") }), "Live") },
    }),
    (c) => c.json({ status: "ok" }),
  );
  // Readiness: it can store (JetStream answers for our stream) and authorize (PostgreSQL answers).
  // `?for=ingest` leaves PostgreSQL out: ingest needs only JetStream and the endpoint cache, so a
  // load balancer in front of /webhook must not turn a database outage into an ingest outage.
  declare(
    app,
    createRoute({
      method: "get",
      path: "/readyz",
      tags: ["health"],
      summary: "Readiness, with the state of each dependency",
      request: {
        query: z.object({
          for: z.string().optional().openapi({ description: "`ingest`: leave PostgreSQL out (ingest does not need it); `all` (the default)", example: "ingest" }),
        }),
      },
      responses: { 200: json(Readiness, "Ready"), 503: json(Readiness, "Not ready: a dependency is down"), ...errors(400) },
    }),
    async (c) => {
      const scope = c.req.valid("query").for ?? "all";
      if (scope !== "all" && scope !== "ingest") throw new BrokerError("invalid_request", "for must be ingest or all");
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
    },
  );
  return app;
}
