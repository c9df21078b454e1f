import type { Command } from "commander";
import { createOrganization, listOrganizations } from "@wb/authz";
import type { CliContext } from "./context.js";
import { orgGitHubCommands } from "./orgs-github.js";
import { iso } from "./output.js";

export function orgsCommand(program: Command, ctx: CliContext): void {
  const orgs = program.command("orgs").description("create, list, link to GitHub and sync organizations (members: see `members`)");
  orgGitHubCommands(orgs, ctx);

  orgs
    .command("create")
    .description("create an organization")
    .argument("<name>", "1-64 chars of a-z, 0-9, '.', '_', '-'")
    .action(async (name: string) => {
      const org = await createOrganization(await ctx.db(), name, ctx.acting());
      if (ctx.json) ctx.out.json({ id: org.id, name: org.name, created_at: iso(org.createdAt) });
      else ctx.out.line(`created organization ${org.name} (${org.id})`);
    });

  orgs
    .command("list")
    .description("list all organizations with their member counts")
    .action(async () => {
      const rows = await listOrganizations(await ctx.db());
      if (ctx.json) {
        return ctx.out.json({
          organizations: rows.map((o) => ({ id: o.id, name: o.name, github_org: o.githubOrgName, members: o.memberCount, created_at: iso(o.createdAt) })),
        });
      }
      ctx.out.table(
        rows,
        { name: (o) => o.name, id: (o) => o.id, github: (o) => o.githubOrgName, members: (o) => o.memberCount, created: (o) => o.createdAt },
        "organizations",
      );
    });
}
