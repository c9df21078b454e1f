import type { Command } from "commander";
import { findOrganizationByName, listAudit, viewAudit } from "@wb/authz";
import { UsageError, type CliContext } from "./context.js";

/** The audit log, newest first: every change of who may reach what, from the API and the CLI. */
export function auditCommand(program: Command, ctx: CliContext): void {
  program
    .command("audit")
    .description("show the audit log (endpoint, reservation, membership, token and user changes), newest first")
    .option("--org <org>", "only the entries of this organization")
    .option("--limit <n>", "at most this many entries (1-1000)", "50")
    .option("--before <id>", "entries older than this id (for paging)")
    .action(async (opts: { org?: string; limit: string; before?: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit: expected 1-1000, got ${opts.limit}`);
      const before = opts.before === undefined ? undefined : Number(opts.before);
      if (before !== undefined && (!Number.isSafeInteger(before) || before < 1)) throw new UsageError(`--before: expected an entry id, got ${opts.before}`);
      const db = await ctx.db();
      const organizationId = opts.org ? (await findOrganizationByName(db, opts.org)).id : undefined;
      const rows = (await listAudit(db, ctx.acting().actor, { organizationId, limit, beforeId: before })).map(viewAudit);
      if (ctx.json) return ctx.out.json({ entries: rows });
      ctx.out.table(
        rows,
        {
          id: (e) => e.id,
          at: (e) => new Date(e.at),
          actor: (e) => e.actor.name,
          from: (e) => e.actor.source,
          action: (e) => e.action,
          target: (e) => `${e.target.type}:${e.target.id}`,
          details: (e) => JSON.stringify(e.details),
        },
        "audit entries",
      );
    });
}
