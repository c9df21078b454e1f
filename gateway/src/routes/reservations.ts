import { z } from "@hono/zod-openapi";
import { createReservation, deleteReservation, listReservations, type Db } from "@wb/authz";
import { instant, json, router, routes } from "../openapi.js";
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

const Reservation = z
  .object({
    id: z.string(),
    prefix: z.string(),
    url_prefix: z.string(),
    owner: z.object({ type: z.enum(["user", "organization"]), id: z.string(), name: z.string() }),
    note: z.string().nullable(),
    created_at: instant,
  })
  .openapi("Reservation");
const tags = ["reservations"];

/**
 * Path reservations (authz/src/reservations.ts): global admins create and delete them; everyone
 * lists those held by himself or his organizations (a global admin: all).
 */
export function reservationRoutes(deps: ReservationsDeps) {
  const app = router();
  const route = routes(app, tags);

  route(
    {
      method: "post",
      path: "/",
      summary: "Reserve a path prefix for a user or an organization (global admins)",
      body: createBody,
      responses: { 201: json(Reservation, "Reserved") },
      errors: [400, 403, 404, 409],
    },
    async (c) => {
      const acting = await actingOf(c, deps.db);
      const body = await parseJson(c, createBody);
      return c.json(await createReservation(deps.db, acting, body), 201);
    },
  );

  route(
    {
      method: "get",
      path: "/",
      summary: "Reservations held by the caller or his organizations (all, for a global admin)",
      responses: { 200: json(z.object({ reservations: z.array(Reservation) }), "Reservations") },
    },
    async (c) => c.json({ reservations: await listReservations(deps.db, (await actingOf(c, deps.db)).actor) }),
  );

  route(
    { method: "delete", path: "/{id}", summary: "Delete a reservation (global admins)", params: z.object({ id: z.string() }), responses: { 204: { description: "Deleted" } }, errors: [403, 404] },
    async (c) => {
      await deleteReservation(deps.db, await actingOf(c, deps.db), c.req.valid("param").id);
      return c.body(null, 204);
    },
  );

  return app;
}
