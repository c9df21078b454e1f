import { z } from "@hono/zod-openapi";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  announceGrantsChanged,
  BrokerError,
  createUser,
  disableUser,
  enableUser,
  findUserByName,
  listUsers,
  setUserAdmin,
  type Db,
  type schema,
} from "@wb/authz";
import { instant, json, router, routes } from "../openapi.js";
import { actingOf } from "../middleware/auth.js";
import { parseJson } from "../validate.js";

export interface UsersDeps {
  db: Db;
  nc: NatsConnection;
}

const createBody = z.strictObject({ name: z.string().min(1).max(64), admin: z.boolean().default(false) });
const patchBody = z
  .strictObject({ admin: z.boolean().optional(), disabled: z.boolean().optional() })
  .refine((b) => b.admin !== undefined || b.disabled !== undefined, { message: "give admin and/or disabled" });

const User = z
  .object({ id: z.string(), name: z.string(), admin: z.boolean(), disabled: z.boolean(), disabled_at: instant.nullable(), created_at: instant })
  .openapi("User");
const name = z.object({ name: z.string() });
const tags = ["users (global admins)"];

export function viewUser(u: schema.User) {
  return { id: u.id, name: u.name, admin: u.isAdmin, disabled: u.disabledAt !== null, disabled_at: u.disabledAt?.toISOString() ?? null, created_at: u.createdAt.toISOString() };
}

/**
 * Users, for global admins only (the CLI remains the operator's tool): list, create, disable,
 * enable, grant or take admin rights. Everyone else gets 403 before any name is looked up, so
 * the answer is the same for every name. An admin cannot disable or demote himself (someone
 * must remain who can undo it).
 */
export function userRoutes(deps: UsersDeps) {
  const app = router();

  app.use(async function globalAdminsOnly(c, next) {
    if (!c.get("principal").isAdmin) throw new BrokerError("forbidden", "only global admins manage users");
    await next();
  });

  const route = routes(app, tags);

  route({ method: "get", path: "/", summary: "Every user", responses: { 200: json(z.object({ users: z.array(User) }), "Users") }, errors: [403] }, async (c) =>
    c.json({ users: (await listUsers(deps.db)).map(viewUser) }),
  );

  route({ method: "post", path: "/", summary: "Create a user", body: createBody, responses: { 201: json(User, "Created") }, errors: [400, 403, 409] }, async (c) => {
    const body = await parseJson(c, createBody);
    return c.json(viewUser(await createUser(deps.db, { name: body.name, isAdmin: body.admin }, await actingOf(c, deps.db))), 201);
  });

  route({ method: "get", path: "/{name}", summary: "One user", params: name, responses: { 200: json(User, "The user") }, errors: [403, 404] }, async (c) =>
    c.json(viewUser(await findUserByName(deps.db, c.req.valid("param").name))),
  );

  route(
    {
      method: "patch",
      path: "/{name}",
      summary: "Disable or enable a user, grant or take admin rights (not one's own)",
      params: name,
      body: patchBody,
      responses: { 200: json(User, "Changed") },
      errors: [400, 403, 404, 409],
    },
    async (c) => {
      const body = await parseJson(c, patchBody);
      let user = await findUserByName(deps.db, c.req.valid("param").name);
      const acting = await actingOf(c, deps.db);
      if (user.id === c.get("principal").userId && (body.disabled === true || body.admin === false)) {
        throw new BrokerError("conflict", "you cannot disable yourself or take your own admin rights; ask another admin");
      }
      if (body.admin !== undefined && body.admin !== user.isAdmin) user = await setUserAdmin(deps.db, user.id, body.admin, acting);
      if (body.disabled === true && !user.disabledAt) {
        user = await disableUser(deps.db, user.id, acting);
        // As the CLI does: the gateways' reconcilers recheck his durables at once.
        await announceGrantsChanged(deps.nc, { user_ids: [user.id], change: "user_disabled" });
      } else if (body.disabled === false && user.disabledAt) {
        user = await enableUser(deps.db, user.id, acting);
        await announceGrantsChanged(deps.nc, { user_ids: [user.id], change: "user_enabled" });
      }
      return c.json(viewUser(user));
    },
  );

  return app;
}
