import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { secondsSince } from "@wb/authz";
import type { AppEnv } from "../../env.js";
import type { GatewayMetrics } from "../../metrics.js";

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * The route pattern that serves the request (`/api/v1/endpoints/:id`), never the path sent:
 * the first matched handler, skipping middleware (registered for every method). `unmatched`
 * when no route has one (404).
 */
export function routePattern(c: Context): string {
  return matchedRoutes(c).find((r) => r.method !== "ALL")?.path ?? "unmatched";
}

/** The ingest route's pattern, as mounted. */
export const INGEST_ROUTE = "/webhook/*";

/**
 * Times every request into `wb_http_request_duration_seconds` by method, route pattern and
 * status, and counts webhook deliveries (POST /webhook/*) by provider and outcome. Both run once
 * the response is known: a refusal thrown anywhere below has been rendered by then. (Counting in
 * a middleware of the ingest sub-app instead cost the 413 drain its response: oversized.test.)
 */
export function httpMetrics(metrics: GatewayMetrics): MiddlewareHandler<AppEnv> {
  return async function httpMetricsMiddleware(c, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      const method = METHODS.has(c.req.method) ? c.req.method : "other";
      const route = routePattern(c);
      const status = c.res.status;
      metrics.httpDuration.observe({ method, route, status: String(status) }, secondsSince(started));
      if (method === "POST" && route === INGEST_ROUTE) countDelivery(metrics, c, status);
    }
  };
}

/**
 * One delivery by provider and outcome: the ingest route names the provider (once an endpoint
 * matched) and what the stream did (stored or duplicate) in the context.
 */
function countDelivery(metrics: GatewayMetrics, c: Context<AppEnv>, status: number): void {
  const outcome = status === 202 ? (c.get("deliveryOutcome") ?? "stored") : status < 300 ? "reply" : String(status);
  metrics.deliveries.inc({ provider: c.get("webhookProvider") ?? "unknown", outcome });
}
