import { Hono } from "hono";
import type { NatsConnection } from "@nats-io/transport-node";
import { announceGrantsChanged, BrokerError, listSessions, revokeSession, type Db } from "@wb/authz";
import type { AppEnv } from "../env.js";

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
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => {
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

  app.delete("/:id", async (c) => {
    const id = c.req.param("id");
    const userId = c.get("principal").userId;
    if (!(await revokeSession(deps.db, id, "revoked_by_user", userId))) {
      throw new BrokerError("not_found", `session ${id} not found`);
    }
    await announceGrantsChanged(deps.nc, { user_ids: [userId], change: "session_revoked" });
    return c.body(null, 204);
  });

  return app;
}
