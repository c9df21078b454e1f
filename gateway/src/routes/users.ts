import { Hono } from "hono";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
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
import type { AppEnv } from "../env.js";
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
  const app = new Hono<AppEnv>();

  app.use(async function globalAdminsOnly(c, next) {
    if (!c.get("principal").isAdmin) throw new BrokerError("forbidden", "only global admins manage users");
    await next();
  });

  app.get("/", async (c) => c.json({ users: (await listUsers(deps.db)).map(viewUser) }));

  app.post("/", async (c) => {
    const body = await parseJson(c, createBody);
    return c.json(viewUser(await createUser(deps.db, { name: body.name, isAdmin: body.admin }, await actingOf(c, deps.db))), 201);
  });

  app.get("/:name", async (c) => c.json(viewUser(await findUserByName(deps.db, c.req.param("name")))));

  app.patch("/:name", async (c) => {
    const body = await parseJson(c, patchBody);
    let user = await findUserByName(deps.db, c.req.param("name"));
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
  });

  return app;
}
