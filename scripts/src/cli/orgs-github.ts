/**
 * `orgs link` and `orgs sync`: organizations whose admins and members follow a GitHub
 * organization (README, "Access that follows GitHub").
 */
import type { Command } from "commander";
import { BrokerError, findOrganizationByName, githubUsers, linkOrganizationAs, listMembers, parseDuration } from "@wb/authz";
import { GitHubClient, GitHubSync } from "@wb/gateway";
import { z } from "zod";
import { UsageError, type CliContext } from "./context.js";

const githubEnv = z.object({
  GITHUB_CLIENT_ID: z.string({ error: "GITHUB_CLIENT_ID is required (the gateway's)" }).min(1),
  GITHUB_CLIENT_SECRET: z.string({ error: "GITHUB_CLIENT_SECRET is required (the gateway's)" }).min(1),
  GITHUB_URL: z.url().default("https://github.com"),
  GITHUB_API_URL: z.url().default("https://api.github.com"),
  GITHUB_CACHE_TTL: z.string().default("5m"),
});

function githubOf(ctx: CliContext) {
  const present = Object.fromEntries(Object.entries(ctx.io.env).filter(([, v]) => v));
  const parsed = githubEnv.safeParse(present);
  if (!parsed.success) throw new UsageError("GitHub is not configured for the CLI:\n" + parsed.error.issues.map((i) => `  - ${i.message}`).join("\n"));
  const ttlMs = parseDuration(parsed.data.GITHUB_CACHE_TTL);
  if (!ttlMs) throw new UsageError(`GITHUB_CACHE_TTL: not a duration: ${parsed.data.GITHUB_CACHE_TTL}`);
  const client = new GitHubClient({
    clientId: parsed.data.GITHUB_CLIENT_ID,
    clientSecret: parsed.data.GITHUB_CLIENT_SECRET,
    webUrl: parsed.data.GITHUB_URL,
    apiUrl: parsed.data.GITHUB_API_URL,
    timeoutMs: 10_000,
  });
  return { client, ttlMs };
}

export function orgGitHubCommands(orgs: Command, ctx: CliContext): void {
  orgs
    .command("link")
    .description("let an organization's admins and members follow a GitHub organization (reserves github/<github-org> for it)")
    .argument("<name>", "the organization")
    .argument("[github-org]", "the GitHub organization's login")
    .option("--unlink", "stop following GitHub (its GitHub memberships stay, as broker ones)", false)
    .action(async (name: string, githubOrg: string | undefined, opts: { unlink: boolean }) => {
      if (!githubOrg === !opts.unlink) throw new UsageError("give either a GitHub organization or --unlink");
      const db = await ctx.db();
      const org = await linkOrganizationAs(db, ctx.acting(), name, opts.unlink ? null : githubOrg!);
      const members = await listMembers(db, org.id);
      await ctx.announceGrants({ organization_id: org.id, user_ids: members.map((m) => m.userId), change: "organization_linked" });
      if (ctx.json) ctx.out.json({ id: org.id, name: org.name, github_org: org.githubOrgName });
      else ctx.out.line(org.githubOrgName ? `${org.name} follows the GitHub organization ${org.githubOrgName}; run \`orgs sync ${org.name}\` to apply it now` : `${org.name} no longer follows GitHub`);
    });

  orgs
    .command("sync")
    .description("ask GitHub now about every signed-in user's memberships and repositories, and show the organization's members")
    .argument("<name>", "a linked organization")
    .action(async (name: string) => {
      const db = await ctx.db();
      const org = await findOrganizationByName(db, name);
      if (!org.githubOrgName) throw new UsageError(`${name} is not linked to a GitHub organization (orgs link ${name} <github-org>)`);
      const { client, ttlMs } = githubOf(ctx);
      const sync = new GitHubSync({ db, box: ctx.box(), client, log: { info: () => {}, warn: () => {} }, ttlMs });
      const outcomes: { user: string; status: string; error?: string }[] = [];
      const changed: string[] = [];
      for (const u of await githubUsers(db)) {
        const outcome = await sync.syncUser(u.id);
        outcomes.push({ user: u.name, status: outcome.status, ...(outcome.status === "unavailable" ? { error: outcome.error } : {}) });
        if (outcome.status !== "unavailable" && (outcome.changedOrgs.length || (outcome.status === "ok" && outcome.reposChanged))) changed.push(u.id);
      }
      if (changed.length) await ctx.announceGrants({ organization_id: org.id, user_ids: changed, change: "github_sync" });
      const members = await listMembers(db, org.id);
      const failed = outcomes.filter((o) => o.status === "unavailable");
      if (ctx.json) {
        ctx.out.json({ organization: org.name, github_org: org.githubOrgName, users: outcomes, members: members.map((m) => ({ name: m.name, role: m.role, source: m.source })) });
      } else {
        ctx.out.table(members, { name: (m) => m.name, role: (m) => m.role, source: (m) => m.source }, "members");
        for (const f of failed) ctx.out.warn(`${f.user}: GitHub not available (${f.error}); his GitHub access runs out at its TTL`);
      }
      if (failed.length) throw new BrokerError("github_unavailable", `GitHub could not be asked about ${failed.length} user(s); their access through GitHub runs out at its TTL`);
    });
}
