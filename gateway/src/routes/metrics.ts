import { createRoute, z } from "@hono/zod-openapi";
import { BrokerError, metricsAccess, METRICS_CONTENT_TYPE } from "@wb/authz";
import type { ConsumerLagSampler } from "../consumer-lag.js";
import type { GatewayMetrics } from "../metrics.js";
import { declare, errors, router } from "../openapi.js";

export interface MetricsRouteDeps {
  metrics: GatewayMetrics;
  /** METRICS_TOKEN: when set, only `Authorization: Bearer <it>` may scrape. */
  token?: string;
  /** Consumer lag, refreshed on scrape (at most once per its interval). */
  lag?: ConsumerLagSampler;
}

/** `GET /metrics`: this process's metrics in Prometheus text format. */
export function metricsRoutes(deps: MetricsRouteDeps) {
  const app = router();
  declare(
    app,
    createRoute({
      method: "get",
      path: "/metrics",
      tags: ["operations"],
      summary: "Prometheus metrics of this gateway process (README, Metrics and dashboards)",
      description: "With METRICS_TOKEN set, only `Authorization: Bearer <METRICS_TOKEN>` may read it.",
      responses: {
        200: { description: "Prometheus text format", content: { "text/plain": { schema: z.string() } } },
        ...errors(401),
      },
    }),
    async (c) => {
      if (!metricsAccess(deps.token, c.req.header("authorization"))) {
        throw new BrokerError("unauthenticated", "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>");
      }
      await deps.lag?.refresh();
      return c.body(await deps.metrics.registry.metrics(), 200, { "Content-Type": METRICS_CONTENT_TYPE });
    },
  );
  return app;
}
