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
    } else if (databaseUnreachable(err)) {
      // Not a bug of ours: the client should come back (ingest does not need the database).
      status = 503;
      code = "unavailable";
      message = "the database is unreachable; retry later";
      c.header("Retry-After", String(DATABASE_RETRY_AFTER_SECONDS));
      log.warn({ err, reqId: requestId }, "database unreachable");
    } else if (err instanceof HTTPException) {
      status = err.status;
      code = status === 413 ? "payload_too_large" : status === 401 ? "unauthenticated" : "invalid_request";
      message = err.message || "request rejected";
    } else {
      log.error({ err, reqId: requestId }, "unhandled error");
    }
    if (status >= 500 && err instanceof BrokerError) log.warn({ code, reqId: requestId, reason: message }, "request failed");
    return c.json({ error: { code, message, request_id: requestId } }, status as 400);
  };
}

/** Seconds a client is asked to wait when PostgreSQL cannot be reached. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Connection-level failures (node-postgres and its socket), as opposed to a query that is wrong. */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND", "57P01", "57P02", "57P03", "53300"]);
const UNREACHABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|connection error|Connection refused/i;

/** True when `err` (or what it wraps, as drizzle's "Failed query" does) says PostgreSQL cannot be reached. */
export function databaseUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof AggregateError && e.errors.some((inner) => databaseUnreachable(inner))) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (UNREACHABLE_CODES.has(code) || code.startsWith("08"))) return true;
    if (e instanceof Error && UNREACHABLE_MESSAGES.test(e.message)) return true;
  }
  return false;
}
