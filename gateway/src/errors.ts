import { isDraining } from "./body.js";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { BrokerError } from "@wb/authz";
import type { Logger } from "pino";

export { BrokerError };

/** Renders every failure as `{"error": {"code", "message", "request_id"}}`. */
export function errorHandler(log: Logger) {
  return function onError(err: Error, c: Context): Response {
    const requestId = c.get("requestId") ?? "";
    let status = 500;
    let code = "internal";
    let message = "internal error";
    if (err instanceof BrokerError) {
      status = err.status;
      code = err.code;
      message = err.message;
      if (err.details?.retryAfterSeconds !== undefined) c.header("Retry-After", String(err.details.retryAfterSeconds));
      // The rest of an oversized body stays unread: do not reuse the connection. Unless it is
      // being drained (readBodyLimited): closing then would reset the sender before it reads the 413.
      if (err.code === "payload_too_large" && !isDraining(err)) c.header("Connection", "close");
    } else if (err instanceof HTTPException) {
      status = err.status;
      code = status === 413 ? "payload_too_large" : status === 401 ? "unauthenticated" : "invalid_request";
      message = err.message || "request rejected";
    } else {
      log.error({ err, requestId }, "unhandled error");
    }
    if (status >= 500 && err instanceof BrokerError) log.warn({ code, requestId, msg: message }, "request failed");
    return c.json({ error: { code, message, request_id: requestId } }, status as 400);
  };
}
