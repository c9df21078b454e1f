import type { MiddlewareHandler } from "hono";
import { authenticateToken, BrokerError, type Db } from "@wb/authz";

/** Bearer API token → principal. The body can never name who the caller is. */
export function bearerAuth(db: Db): MiddlewareHandler {
  return async function bearerAuthMiddleware(c, next) {
    const header = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new BrokerError("unauthenticated", "send an API token as 'Authorization: Bearer <token>'");
    const principal = await authenticateToken(db, m[1]!);
    if (!principal) throw new BrokerError("unauthenticated", "the API token is unknown, expired or revoked");
    c.set("principal", principal);
    await next();
  };
}
