import type { Command } from "commander";
import type { CliContext } from "./context.js";

/** The schema: applied by gateways at start, or here on purpose (the other commands never migrate). */
export function dbCommand(program: Command, ctx: CliContext): void {
  const db = program.command("db").description("the database schema");
  db.command("migrate")
    .description("apply the committed migrations (under an advisory lock, safe while gateways start)")
    .action(async () => {
      await ctx.db({ migrate: true });
      if (ctx.json) ctx.out.json({ pending: 0 });
      else ctx.out.line("the database schema is current");
    });
}
