import { z } from "@hono/zod-openapi";
import type { NatsConnection } from "@nats-io/transport-node";
import { announceGrantsChanged, BrokerError, createApiToken, listApiTokens, revokeOwnApiToken, parseDuration, type Db } from "@wb/authz";
import { instant, json, router, routes } from "../openapi.js";
import { actingOf } from "../middleware/auth.js";
import { parseJson } from "../validate.js";

export interface TokensDeps {
  db: Db;
  nc: NatsConnection;
}

const createBody = z
  .strictObject({
    name: z.string().trim().min(1).max(64),
    /** A lifetime (`30d`, `12h`) ... */
    expires_in: z.string().max(32).optional(),
    /** ... or an absolute time (ISO 8601). Neither: the token does not expire. */
    expires_at: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((b) => !(b.expires_in && b.expires_at), { message: "give expires_in or expires_at, not both" });

const Token = z.object({
  id: z.string(),
  name: z.string(),
  display_prefix: z.string().openapi({ description: "The token's first characters, to recognize it" }),
  status: z.enum(["active", "revoked", "expired"]),
  created_at: instant,
  expires_at: instant.nullable(),
  last_used_at: instant.nullable(),
  revoked_at: instant.nullable(),
});

const id = z.object({ id: z.string() });

type TokenRow = Awaited<ReturnType<typeof listApiTokens>>[number];

function status(t: Pick<TokenRow, "revokedAt" | "expiresAt">, now = Date.now()): "active" | "revoked" | "expired" {
  if (t.revokedAt) return "revoked";
  if (t.expiresAt && t.expiresAt.getTime() <= now) return "expired";
  return "active";
}

function view(t: TokenRow) {
  return {
    id: t.id,
    name: t.name,
    display_prefix: t.displayPrefix,
    status: status(t),
    created_at: t.createdAt.toISOString(),
    expires_at: t.expiresAt?.toISOString() ?? null,
    last_used_at: t.lastUsedAt?.toISOString() ?? null,
    revoked_at: t.revokedAt?.toISOString() ?? null,
  };
}

function expiryOf(body: z.infer<typeof createBody>, now = Date.now()): Date | undefined {
  if (body.expires_at) {
    const at = new Date(body.expires_at);
    if (at.getTime() <= now) throw new BrokerError("invalid_request", "expires_at: must be in the future");
    return at;
  }
  if (body.expires_in) {
    const ms = /^\d+(\.\d+)?(s|m|h|d)$/.test(body.expires_in) ? parseDuration(body.expires_in) : undefined;
    if (!ms) throw new BrokerError("invalid_request", `expires_in: not a lifetime: ${body.expires_in} (use e.g. 90d, 12h)`);
    return new Date(now + ms);
  }
  return undefined;
}

/**
 * The caller's own API tokens (self-service; the CLI manages anyone's). A token is shown once,
 * in the answer to its creation; listings show its prefix, expiry and last use. Another user's
 * token id is not found.
 */
export function tokenRoutes(deps: TokensDeps) {
  const app = router();
  const route = routes(app, ["tokens"]);

  route({ method: "get", path: "/", summary: "The caller's API tokens", responses: { 200: json(z.object({ tokens: z.array(Token) }), "His tokens") } }, async (c) => {
    const rows = await listApiTokens(deps.db, c.get("principal").userId);
    return c.json({ tokens: rows.map(view) });
  });

  route(
    {
      method: "post",
      path: "/",
      summary: "Create an API token (shown once, in this answer)",
      body: createBody,
      responses: { 201: json(Token.extend({ token: z.string() }), "The token, with its secret value") },
      errors: [400],
    },
    async (c) => {
      const body = await parseJson(c, createBody);
      const expiresAt = expiryOf(body);
      const userId = c.get("principal").userId;
      const { id, token } = await createApiToken(deps.db, userId, body.name, expiresAt, await actingOf(c, deps.db));
      const row = (await listApiTokens(deps.db, userId)).find((t) => t.id === id)!;
      c.header("Cache-Control", "no-store");
      return c.json({ ...view(row), token }, 201);
    },
  );

  route(
    { method: "delete", path: "/{id}", summary: "Revoke one of the caller's tokens (its NATS connections are closed)", params: id, responses: { 204: { description: "Revoked" } }, errors: [404] },
    async (c) => {
      const userId = c.get("principal").userId;
      await revokeOwnApiToken(deps.db, userId, c.req.valid("param").id, await actingOf(c, deps.db));
      // The auth callout closes the NATS connections that use it.
      await announceGrantsChanged(deps.nc, { user_ids: [userId], change: "token_revoked" });
      return c.body(null, 204);
    },
  );

  return app;
}
