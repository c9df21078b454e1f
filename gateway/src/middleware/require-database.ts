import type { MiddlewareHandler } from "hono";
import { BrokerError } from "@wb/authz";
import { DATABASE_RETRY_AFTER_SECONDS } from "../errors.js";

/** What the gate needs to know of the gateway's start on PostgreSQL (DatabaseStartup). */
export interface DatabaseReadiness {
  readonly ready: boolean;
  readonly problem?: string;
}

/**
 * Routes that read PostgreSQL answer 503 `unavailable` with Retry-After until the gateway's start
 * on it (migrations, signing key, endpoint table) has succeeded: a gateway started while the
 * database was down serves, and these routes begin working once it is back.
 */
export function requireDatabase(startup: DatabaseReadiness): MiddlewareHandler {
  return async function requireDatabaseMiddleware(_c, next) {
    if (!startup.ready) {
      throw new BrokerError("unavailable", "the database has not been reachable since this gateway started; retry later", {
        retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
      });
    }
    await next();
  };
}
