import { Hono } from "hono";
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { Database } from "@wb/authz";
import type { EndpointCache } from "../endpoint-cache.js";

export interface HealthDeps {
  nc: NatsConnection;
  jsm: JetStreamManager;
  database: Database;
  endpoints: EndpointCache;
  stream: string;
}

export function healthRoutes(deps: HealthDeps) {
  const app = new Hono();
  // Liveness: the process serves requests.
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  // Readiness: it can store (JetStream answers for our stream) and authorize (PostgreSQL answers).
  app.get("/readyz", async (c) => {
    const checks = await Promise.all([
      deps.jsm.streams.info(deps.stream).then(() => "ok", (e: Error) => `down: ${e.message}`),
      deps.database.pool.query("select 1").then(() => "ok", (e: Error) => `down: ${e.message}`),
    ]);
    const result = { jetstream: checks[0], postgres: checks[1], endpoint_cache: deps.endpoints.ready ? "ok" : "not loaded" };
    const ok = Object.values(result).every((v) => v === "ok");
    return c.json({ status: ok ? "ok" : "unavailable", checks: result }, ok ? 200 : 503);
  });
  return app;
}
