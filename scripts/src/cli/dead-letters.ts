import { Option, type Command } from "commander";
import { BrokerError, findUserByName, listDeadLetters, viewDeadLetter } from "@wb/authz";
import { UsageError, type CliContext } from "./context.js";

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
        },
        "dead letters",
      );
    });
}
