import type { Command } from "commander";
import { createUser, disableUser, findUserByName, listUsers, type schema } from "@wb/authz";
import type { CliContext } from "./context.js";
import { iso } from "./output.js";

type User = schema.User;

/** The JSON shape of a user (snake_case, like the HTTP API). */
export function userJson(u: User) {
  return { id: u.id, name: u.name, is_admin: u.isAdmin, disabled_at: iso(u.disabledAt), created_at: iso(u.createdAt) };
}

export function usersCommand(program: Command, ctx: CliContext): void {
  const users = program.command("users").description("create, list and disable users");

  users
    .command("create")
    .description("create a user (give him a token with `tokens create`)")
    .argument("<name>", "1-64 chars of a-z, 0-9, '.', '_', '-'")
    .option("--admin", "may manage every endpoint, user and organization", false)
    .action(async (name: string, opts: { admin: boolean }) => {
      const user = await createUser(await ctx.db(), { name, isAdmin: opts.admin }, ctx.acting());
      if (ctx.json) ctx.out.json(userJson(user));
      else ctx.out.line(`created ${user.isAdmin ? "admin " : ""}user ${user.name} (${user.id})`);
    });

  users
    .command("list")
    .description("list all users")
    .action(async () => {
      const rows = await listUsers(await ctx.db());
      if (ctx.json) return ctx.out.json({ users: rows.map(userJson) });
      ctx.out.table(
        rows,
        {
          name: (u) => u.name,
          id: (u) => u.id,
          admin: (u) => u.isAdmin,
          status: (u) => (u.disabledAt ? "disabled" : "active"),
          created: (u) => u.createdAt,
        },
        "users",
      );
    });

  users
    .command("disable")
    .description("disable a user: his tokens stop working at once; nothing is deleted")
    .argument("<name>", "the user's name")
    .action(async (name: string) => {
      const db = await ctx.db();
      const user = await disableUser(db, (await findUserByName(db, name)).id, ctx.acting());
      // Scoped to him: the gateways' reconcilers recheck his durable consumers at once.
      await ctx.announceGrants({ user_ids: [user.id], change: "user_disabled" });
      if (ctx.json) ctx.out.json(userJson(user));
      else ctx.out.line(`disabled user ${user.name} (since ${iso(user.disabledAt)})`);
    });
}
