import { createRoute, z } from "@hono/zod-openapi";
import type { NatsConnection } from "@nats-io/transport-node";
import { announceGrantsChanged, BrokerError, listSessions, revokeSession, type Db } from "@wb/authz";
import { declare, errors, instant, json, router } from "../openapi.js";

const Session = z.object({
  id: z.string(),
  method: z.string().openapi({ description: "How the session was signed in", example: "github" }),
  current: z.boolean().openapi({ description: "The session this request authenticated with" }),
  created_at: instant,
  last_used_at: instant,
  revoked_at: instant.nullable(),
  revoked_reason: z.string().nullable(),
});
const tags = ["sessions"];

export interface SessionsDeps {
  db: Db;
  nc: NatsConnection;
}

/**
 * The caller's signed-in sessions (from GitHub sign-in), to see where he is signed in and to end
 * one (a lost laptop). Ending a session refuses its access and refresh tokens at once and closes
 * its NATS connections within the revocation bound. Another user's session is not found.
 */
export function sessionRoutes(deps: SessionsDeps) {
  const app = router();

  const list = createRoute({ method: "get", path: "/", tags, summary: "The caller's signed-in sessions", responses: { 200: json(z.object({ sessions: z.array(Session) }), "Sessions") } });
  declare(app, list, async (c) => {
    const credential = c.get("credential");
    const rows = await listSessions(deps.db, c.get("principal").userId);
    return c.json({
      sessions: rows.map((s) => ({
        id: s.id,
        method: s.method,
        current: credential.kind === "session" && credential.id === s.id,
        created_at: s.createdAt.toISOString(),
        last_used_at: s.lastUsedAt.toISOString(),
        revoked_at: s.revokedAt?.toISOString() ?? null,
        revoked_reason: s.revokedReason,
      })),
    });
  });

  const remove = createRoute({
    method: "delete",
    path: "/{id}",
    tags,
    summary: "End a session (its tokens are refused at once, its NATS connections closed)",
    request: { params: z.object({ id: z.string() }) },
    responses: { 204: { description: "Ended" }, ...errors(404) },
  });
  declare(app, remove, async (c) => {
    const id = c.req.valid("param").id;
    const userId = c.get("principal").userId;
    if (!(await revokeSession(deps.db, id, "revoked_by_user", userId))) {
      throw new BrokerError("not_found", `session ${id} not found`);
    }
    await announceGrantsChanged(deps.nc, { user_ids: [userId], change: "session_revoked" });
    return c.body(null, 204);
  });

  return app;
}
