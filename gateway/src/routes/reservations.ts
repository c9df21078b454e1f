import { Hono } from "hono";
import { z } from "zod";
import { createReservation, deleteReservation, listReservations, type Db } from "@wb/authz";
import type { AppEnv } from "../env.js";
import { actingOf } from "../middleware/auth.js";
import { parseJson } from "../validate.js";

export interface ReservationsDeps {
  db: Db;
}

const createBody = z.strictObject({
  prefix: z.string().min(1).max(512),
  owner: z.union([z.strictObject({ user: z.string().max(64) }), z.strictObject({ organization: z.string().max(64) })]),
  note: z.string().max(1024).optional(),
});

/**
 * Path reservations (authz/src/reservations.ts): global admins create and delete them; everyone
 * lists those held by himself or his organizations (a global admin: all).
 */
export function reservationRoutes(deps: ReservationsDeps) {
  const app = new Hono<AppEnv>();

  app.post("/", async (c) => {
    const acting = await actingOf(c, deps.db);
    const body = await parseJson(c, createBody);
    return c.json(await createReservation(deps.db, acting, body), 201);
  });

  app.get("/", async (c) => {
    return c.json({ reservations: await listReservations(deps.db, (await actingOf(c, deps.db)).actor) });
  });

  app.delete("/:id", async (c) => {
    await deleteReservation(deps.db, await actingOf(c, deps.db), c.req.param("id"));
    return c.body(null, 204);
  });

  return app;
}
