import { randomUUID } from "node:crypto";
import type { MiddlewareHandler } from "hono";

/** Accepts a sane caller-supplied X-Request-Id, else makes one; echoes it back. */
export function requestId(): MiddlewareHandler {
  return async function requestIdMiddleware(c, next) {
    const given = c.req.header("x-request-id");
    const id = given && /^[A-Za-z0-9._-]{1,128}$/.test(given) ? given : randomUUID();
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    await next();
  };
}
