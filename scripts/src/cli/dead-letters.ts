import { Option, type Command } from "commander";
import { BrokerError, ConsumerManager, findUserByName, listDeadLetters, MAX_BULK_REDRIVE, redriveDeadLetter, redriveDeadLetters, requireConsumer, viewDeadLetter } from "@wb/authz";
import { UsageError, type CliContext } from "./context.js";
import { parseTime, withJetStream } from "./jetstream.js";

const MAX_LIMIT = 1000;

const HELP = `
A message is dead-lettered when one of the user's consumers gave up on it: it was delivered
max_deliver times without an ack (reason max_deliveries), or the reader terminated it
(reason terminated). The message itself stays in the stream until retention removes it;
ID is its stream sequence (the id the messages API shows). Only messages of endpoints the
user may still read are listed, newest first.`;

export function deadLettersCommand(program: Command, ctx: CliContext): void {
  const deadLetters = program.command("dead-letters").description("messages a user's consumers gave up on");

  deadLetters
    .command("list")
    .description("list a user's dead letters, newest first")
    .argument("<user>", "the user's name")
    .option("--consumer <name>", "only this consumer's dead letters")
    .addOption(
      new Option("--limit <n>", `at most this many (1-${MAX_LIMIT})`)
        .default(50)
        .argParser((value: string) => {
          const n = Number(value);
          if (!/^\d+$/.test(value) || n < 1 || n > MAX_LIMIT) throw new UsageError(`--limit: expected an integer from 1 to ${MAX_LIMIT}, got ${value}`);
          return n;
        }),
    )
    .addHelpText("after", HELP)
    .action(async (userName: string, opts: { consumer?: string; limit: number }) => {
      const db = await ctx.db();
      const user = await findUserByName(db, userName);
      const rows = await listDeadLetters(db, user.id, { consumer: opts.consumer, limit: opts.limit }).catch((err: unknown) => {
        if (err instanceof BrokerError && err.code === "not_found") throw new BrokerError("not_found", `${user.name} has no consumer ${opts.consumer}`);
        throw err;
      });
      if (ctx.json) {
        return ctx.out.json({
          dead_letters: rows.map(viewDeadLetter),
        });
      }
      ctx.out.table(
        rows,
        {
          consumer: (r) => r.consumer,
          id: (r) => r.streamSeq,
          endpoint: (r) => r.endpointId,
          deliveries: (r) => r.deliveryCount,
          reason: (r) => r.reason,
          dead_at: (r) => r.deadAt,
          redriven: (r) => (r.redrivenAt ? `${r.redrivenAt.toISOString()} by ${r.redrivenBy} as ${r.redriveSeq ?? "?"}` : "-"),
        },
        "dead letters",
      );
    });

  deadLetters
    .command("redrive")
    .description("deliver a dead letter again, once, to the consumer that gave up on it (or all in a time range)")
    .argument("<user>", "the user's name")
    .argument("[id]", "the dead letter's id (its stream sequence); or use --from")
    .option("--consumer <name>", "the consumer (needed when the id is dead on several of the user's consumers)")
    .option("--from <iso>", "redrive every dead letter not redriven yet that died from this time on")
    .option("--to <iso>", "with --from: ... and before this time (default: now)")
    .addOption(
      new Option("--limit <n>", `with --from: at most this many (1-${MAX_BULK_REDRIVE})`).default(MAX_BULK_REDRIVE).argParser((value: string) => {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < 1 || n > MAX_BULK_REDRIVE) throw new UsageError(`--limit: expected an integer from 1 to ${MAX_BULK_REDRIVE}, got ${value}`);
        return n;
      }),
    )
    .addHelpText("after", REDRIVE_HELP)
    .action(async (userName: string, id: string | undefined, opts: { consumer?: string; from?: string; to?: string; limit: number }) => {
      if ((id === undefined) === (opts.from === undefined)) throw new UsageError("give either a dead letter's id or --from <iso> (a time range), not both");
      if (opts.to !== undefined && opts.from === undefined) throw new UsageError("--to needs --from");
      const seq = id === undefined ? undefined : Number(id);
      if (seq !== undefined && (!/^\d+$/.test(id!) || !Number.isSafeInteger(seq) || seq < 1)) throw new UsageError(`id: expected a positive integer, got ${id}`);
      const range = opts.from === undefined ? undefined : { from: parseTime("--from", opts.from), to: opts.to === undefined ? undefined : parseTime("--to", opts.to) };
      const db = await ctx.db();
      const user = await findUserByName(db, userName);
      if (opts.consumer !== undefined) {
        await requireConsumer(db, user.id, opts.consumer).catch((err: unknown) => {
          if (err instanceof BrokerError && err.code === "not_found") throw new BrokerError("not_found", `${user.name} has no consumer ${opts.consumer}`);
          throw err;
        });
      }
      const by = { userId: null, name: "cli" };
      await withJetStream(ctx, async (s) => {
        const deps = { db, jsm: s.jsm, js: s.jsm.jetstream(), stream: s.stream, consumers: new ConsumerManager({ jsm: s.jsm, stream: s.stream, nc: s.nc }) };
        if (seq !== undefined) {
          const r = await redriveDeadLetter(deps, user.id, { id: seq, consumer: opts.consumer }, by);
          if (ctx.json) return ctx.out.json(r);
          return ctx.out.line(`redrove ${user.name}/${r.consumer} dead letter ${r.id}: delivered again as ${r.redrive_id}`);
        }
        const r = await redriveDeadLetters(deps, user.id, { ...range!, consumer: opts.consumer, limit: opts.limit }, by);
        if (ctx.json) return ctx.out.json(r);
        for (const x of r.redriven) ctx.out.line(`redrove ${user.name}/${x.consumer} dead letter ${x.id}: delivered again as ${x.redrive_id}`);
        for (const x of r.gone) ctx.out.line(`skipped ${user.name}/${x.consumer} dead letter ${x.id}: no longer in the stream`);
        ctx.out.line(`${r.redriven.length} redriven${r.has_more ? " (more remain: run it again)" : ""}`);
      });
    });
}

const REDRIVE_HELP = `
A redrive copies the stored message (body and headers, plus Wb-Redrive-Of: <id>) to the
consumer's own redrive subject; the consumer delivers the copy as a new message (a new id,
a fresh max_deliver), over HTTP, SSE and NATS alike. No other consumer sees it. Each dead
letter is redriven at most once: a second redrive of the same one fails (already_redriven).
The redrive is recorded on the dead letter (when, by whom: "cli" here) and shown by list.`;
