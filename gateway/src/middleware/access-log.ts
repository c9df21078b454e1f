import type { MiddlewareHandler } from "hono";
import type { Logger } from "pino";

/**
 * One line per request: method, path, status, duration, request id; never headers, query or
 * body (they carry tokens, signatures and payloads). Accepted webhooks and health probes are
 * logged at debug: at thousands per second they would drown everything else.
 */
export function accessLog(log: Logger): MiddlewareHandler {
  return async function accessLogMiddleware(c, next) {
    const started = performance.now();
    await next();
    const status = c.res.status;
    const path = c.req.path;
    const routine = (status === 202 && path.startsWith("/webhook/")) || path === "/healthz" || path === "/readyz";
    log[routine ? "debug" : "info"](
      { method: c.req.method, path, status, ms: Math.round((performance.now() - started) * 10) / 10, reqId: c.get("requestId") },
      "request",
    );
  };
}
