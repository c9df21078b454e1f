import type { Context, MiddlewareHandler } from "hono";
import { actorOf, authenticateCredential, BrokerError, type AccessTokenVerifier, type Acting, type Db } from "@wb/authz";
import { clientAddress } from "./client-address/index.js";

/**
 * Bearer credential → principal: an API token or the broker's access JWT alike (authz's one
 * lookup, shared with the auth callout). The body can never name who the caller is.
 */
export function bearerAuth(db: Db, verifier: AccessTokenVerifier): MiddlewareHandler {
  return async function bearerAuthMiddleware(c, next) {
    const header = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new BrokerError("unauthenticated", "send an API token or an access token as 'Authorization: Bearer <token>'");
    const found = await authenticateCredential(db, verifier, m[1]!);
    if (!found) throw new BrokerError("unauthenticated", "the token is unknown, expired or revoked");
    c.set("principal", found.principal);
    c.set("credential", found.credential);
    await next();
  };
}

/** The caller as the access rules see him (with his organization roles), and where he calls from (for the audit log). */
export async function actingOf(c: Context, db: Db): Promise<Acting> {
  return { actor: await actorOf(db, c.get("principal")), via: "api", source: clientAddress(c) };
}
