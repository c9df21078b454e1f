import { isDraining } from "./body.js";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { BrokerError } from "@wb/authz";
import type { Logger } from "pino";
import { ClosedConnectionError, ConnectionError, DrainingConnectionError, NoRespondersError, RequestError, TimeoutError } from "@nats-io/transport-node";
import { JetStreamApiError, JetStreamError } from "@nats-io/jetstream";

export { BrokerError };

/** Renders every failure as `{"error": {"code", "message", "request_id"}}`. */
export function errorHandler(log: Logger) {
  return function onError(err: Error, c: Context): Response {
    const requestId = c.get("requestId") ?? "";
    let status = 500;
    let code = "internal";
    let message = "internal error";
    const down = err instanceof BrokerError ? undefined : dependencyUnavailable(err);
    if (err instanceof BrokerError) {
      status = err.status;
      code = err.code;
      message = err.message;
      if (err.details?.retryAfterSeconds !== undefined) c.header("Retry-After", String(err.details.retryAfterSeconds));
      // The rest of an oversized body stays unread: do not reuse the connection. Unless it is
      // being drained (readBodyLimited): closing then would reset the sender before it reads the 413.
      if (err.code === "payload_too_large" && !isDraining(err)) c.header("Connection", "close");
    } else if (down) {
      // Not a bug of ours: a dependency is down or restarting, and the client should come back.
      status = 503;
      code = "unavailable";
      message = down.message;
      c.header("Retry-After", String(down.retryAfterSeconds));
      log.warn({ err, reqId: requestId, dependency: down.dependency }, `${down.dependency} unavailable`);
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

/** A dependency outage, as the client is told about it: always 503 `unavailable` with Retry-After. */
export interface Unavailable {
  dependency: "postgres" | "nats";
  message: string;
  retryAfterSeconds: number;
}

/** Seconds a client is asked to wait: PostgreSQL restarts take a few seconds, a NATS reconnect about one. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;
export const NATS_RETRY_AFTER_SECONDS = 2;

/**
 * The one mapping of dependency failures (PostgreSQL, NATS/JetStream) to `503 unavailable`
 * (issue 16 #2). Anything else that is not a BrokerError is a bug of ours: 500 and
 * "unhandled error" in the log.
 */
export function dependencyUnavailable(err: unknown): Unavailable | undefined {
  if (databaseUnreachable(err)) {
    return { dependency: "postgres", message: "the database is unreachable; retry later", retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS };
  }
  if (natsUnreachable(err)) {
    return { dependency: "nats", message: "the message store is unreachable or restarting; retry shortly", retryAfterSeconds: NATS_RETRY_AFTER_SECONDS };
  }
  return undefined;
}

/** Connection-level NATS errors of nats.js: the connection is down, closing, or nobody answered in time. */
const NATS_DOWN: (abstract new (...args: never[]) => Error)[] = [TimeoutError, ClosedConnectionError, DrainingConnectionError, ConnectionError, NoRespondersError, RequestError];
/** JetStream API errors that mean "not now" rather than "wrong": temporarily unavailable (10008), no responders/timeouts by status. */
const JS_UNAVAILABLE_CODES = new Set([10008]);
const JS_UNAVAILABLE_STATUS = new Set([408, 503]);

/** True when `err` (or what it wraps) says NATS or JetStream cannot serve the request right now. */
export function natsUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (NATS_DOWN.some((k) => e instanceof k)) return true;
    if (e instanceof JetStreamApiError && (JS_UNAVAILABLE_CODES.has(e.code) || JS_UNAVAILABLE_STATUS.has(e.status))) return true;
    // A pull whose heartbeats stopped: the server went away under it.
    if (e instanceof JetStreamError && /heartbeats missed/i.test(e.message)) return true;
  }
  return false;
}

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
