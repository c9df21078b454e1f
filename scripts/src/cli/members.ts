import { Option, type Command } from "commander";
import {
  addMember,
  BrokerError,
  changeMemberRole,
  findOrganizationByName,
  findUserByName,
  listMembers,
  removeMember,
  type Acting,
  type Db,
  type schema,
} from "@wb/authz";
import type { CliContext } from "./context.js";
import { iso } from "./output.js";

const ROLES = ["admin", "member", "viewer"] as const satisfies readonly schema.OrgRole[];

export function membersCommand(program: Command, ctx: CliContext): void {
  const members = program
    .command("members")
    .description("manage who belongs to an organization, and in which role")
    .addHelpText(
      "after",
      "\nEvery change is announced on NATS (GRANTS_CHANGED_SUBJECT, scoped to the user), so the gateways\n" +
        "update his durable consumers' filter subjects within seconds, keeping their positions.",
    );

  /** A membership's "not found" names the user and the organization. */
  const notMember = (user: { name: string }, org: { name: string }) => (err: unknown) => {
    if (err instanceof BrokerError && err.code === "not_found") {
      throw new BrokerError("not_found", `${user.name} is not a member of ${org.name}`);
    }
    throw err;
  };

  /** `<verb> <org> <user> --role R`: sets the role with `set`, announces the change, reports. */
  const roleCommand = (
    verb: string,
    description: string,
    change: string,
    set: (db: Db, orgId: string, userId: string, role: schema.OrgRole, acting: Acting) => Promise<void>,
  ) =>
    members
      .command(verb)
      .description(description)
      .argument("<org>", "the organization's name")
      .argument("<user>", "the user's name")
      .addOption(
        new Option("--role <role>", "admin: manages members and all the org's endpoints; member: manages its endpoints in its own space (o/<org>/, its reservations); viewer: reads them")
          .choices(ROLES)
          .makeOptionMandatory(),
      )
      .addHelpText("after", "\nDemoting the organization's last admin is refused (exit 1).")
      .action(async (orgName: string, userName: string, opts: { role: schema.OrgRole }) => {
        const db = await ctx.db();
        const org = await findOrganizationByName(db, orgName);
        const user = await findUserByName(db, userName);
        await set(db, org.id, user.id, opts.role, ctx.acting()).catch(notMember(user, org));
        await ctx.announceGrants({ organization_id: org.id, user_ids: [user.id], change });
        if (ctx.json) ctx.out.json({ organization: org.name, user: user.name, role: opts.role });
        else ctx.out.line(`${user.name} is now ${opts.role} of ${org.name}`);
      });

  roleCommand("add", "add a user to an organization, or change his role there", "member_added", addMember);
  roleCommand("role", "change a member's role (he must be a member already; `add` also adds)", "role_changed", changeMemberRole);

  members
    .command("list")
    .description("list an organization's members and their roles")
    .argument("<org>", "the organization's name")
    .action(async (orgName: string) => {
      const db = await ctx.db();
      const rows = await listMembers(db, (await findOrganizationByName(db, orgName)).id);
      if (ctx.json) {
        return ctx.out.json({
          members: rows.map((m) => ({
            user_id: m.userId,
            name: m.name,
            role: m.role,
            disabled: m.disabledAt !== null,
            joined_at: iso(m.joinedAt),
          })),
        });
      }
      ctx.out.table(
        rows,
        { name: (m) => m.name, role: (m) => m.role, status: (m) => (m.disabledAt ? "disabled" : "active"), joined: (m) => m.joinedAt },
        "members",
      );
    });

  members
    .command("remove")
    .description("remove a user from an organization (nothing else is deleted)")
    .argument("<org>", "the organization's name")
    .argument("<user>", "the user's name")
    .action(async (orgName: string, userName: string) => {
      const db = await ctx.db();
      const org = await findOrganizationByName(db, orgName);
      const user = await findUserByName(db, userName);
      await removeMember(db, org.id, user.id, ctx.acting()).catch(notMember(user, org));
      await ctx.announceGrants({ organization_id: org.id, user_ids: [user.id], change: "member_removed" });
      if (ctx.json) ctx.out.json({ organization: org.name, user: user.name, removed: true });
      else ctx.out.line(`removed ${user.name} from ${org.name}`);
    });
}
