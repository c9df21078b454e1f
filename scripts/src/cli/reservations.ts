import { Option, type Command } from "commander";
import { createReservation, deleteReservation, listReservations } from "@wb/authz";
import { UsageError, type CliContext } from "./context.js";

/** Path reservations: the same service functions as `/api/v1/reservations` (the CLI acts as a global admin). */
export function reservationsCommand(program: Command, ctx: CliContext): void {
  const reservations = program
    .command("reservations")
    .description("reserve path prefixes for a user or an organization: inside one, only its holder has endpoints");

  reservations
    .command("create")
    .description("reserve a path prefix (refused while another owner's endpoint or reservation overlaps it)")
    .argument("<prefix>", "path prefix below /webhook/, e.g. github/acme")
    .addOption(new Option("--user <user>", "held by this user").conflicts("org"))
    .addOption(new Option("--org <org>", "held by this organization"))
    .option("--note <text>", "why, for whom")
    .addHelpText("after", "\nExactly one of --user and --org is required. u/<user>/ and o/<org>/ are namespaces already and cannot be reserved.")
    .action(async (prefix: string, opts: { user?: string; org?: string; note?: string }) => {
      if (!opts.user && !opts.org) throw new UsageError("a holder is required: --user <user> or --org <org>");
      const r = await createReservation(await ctx.db(), ctx.acting(), {
        prefix,
        owner: opts.user ? { user: opts.user } : { organization: opts.org! },
        note: opts.note,
      });
      if (ctx.json) ctx.out.json(r);
      else ctx.out.line(`reserved ${r.url_prefix} for ${r.owner.type} ${r.owner.name} (${r.id})`);
    });

  reservations
    .command("list")
    .description("list every reservation")
    .action(async () => {
      const rows = await listReservations(await ctx.db(), ctx.acting().actor);
      if (ctx.json) return ctx.out.json({ reservations: rows });
      ctx.out.table(
        rows,
        { id: (r) => r.id, prefix: (r) => r.url_prefix, holder: (r) => `${r.owner.type === "user" ? "user" : "org"}:${r.owner.name}`, note: (r) => r.note, created: (r) => new Date(r.created_at) },
        "reservations",
      );
    });

  reservations
    .command("delete")
    .description("remove a reservation (endpoints inside it stay)")
    .argument("<id>", "the reservation's id (see `reservations list`)")
    .action(async (id: string) => {
      await deleteReservation(await ctx.db(), ctx.acting(), id);
      if (ctx.json) ctx.out.json({ id, deleted: true });
      else ctx.out.line(`deleted reservation ${id}`);
    });
}
