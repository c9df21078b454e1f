import { Option, type Command } from "commander";
import type { ConsumerInfo } from "@nats-io/jetstream";
import {
  BrokerError,
  CONSUMER_NAME,
  ConsumerManager,
  consumerPlan,
  durableName,
  findUserByName,
  listUsers,
  requireConsumer,
  type ConsumerStart,
} from "@wb/authz";
import { UsageError, type CliContext } from "./context.js";
import { formatNanos, jsTime, orNotFound, parseTime, versionAtLeast, withJetStream, type JetStreamSession } from "./jetstream.js";

/** `u_<user id without dashes>_<consumer name>` (naming.ts durableName) back to its parts. */
export function parseDurable(durable: string): { userId: string; consumer: string } | undefined {
  const m = /^u_([0-9a-f]{32})_(.+)$/.exec(durable);
  if (!m) return undefined;
  const h = m[1]!;
  return { userId: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`, consumer: m[2]! };
}

/** The JSON shape of one consumer: who it belongs to and where it stands. */
export function consumerJson(info: ConsumerInfo, users: ReadonlyMap<string, string>) {
  const owner = parseDurable(info.name);
  const lastActive = [jsTime(info.delivered.last_active), jsTime(info.ack_floor.last_active)].filter((t): t is string => t !== null).sort().pop() ?? null;
  const c = info.config;
  return {
    durable: info.name,
    user: owner ? (users.get(owner.userId) ?? null) : null,
    user_id: owner?.userId ?? null,
    consumer: owner?.consumer ?? null,
    pending: info.num_pending,
    ack_pending: info.num_ack_pending,
    redelivered: info.num_redelivered,
    waiting: info.num_waiting,
    last_active: lastActive,
    delivered_seq: info.delivered.stream_seq,
    ack_floor_seq: info.ack_floor.stream_seq,
    paused: info.paused === true,
    filter_subjects: c.filter_subjects ?? (c.filter_subject ? [c.filter_subject] : []),
    deliver_policy: c.deliver_policy,
    opt_start_seq: c.opt_start_seq ?? null,
    opt_start_time: c.opt_start_time ?? null,
    ack_wait: formatNanos(c.ack_wait),
    max_deliver: c.max_deliver === undefined || c.max_deliver < 0 ? null : c.max_deliver,
    max_ack_pending: c.max_ack_pending ?? null,
    created_at: jsTime(info.created),
  };
}

type Target = { user: { id: string; name: string }; consumer: string; durable: string };

const NAME_ARG = "the consumer's name (default: default)";

const REWIND_HELP = `
JetStream cannot move a durable consumer's position. rewind therefore deletes the consumer
and creates it again under the same name, with deliver_policy by_start_sequence (--to-seq)
or by_start_time (--to-time); its filter subjects are recomputed from its subscriptions and
the user's current grants, max_deliver comes from its definition, and the ack settings are
kept. The rewind's start is not remembered: a later recreate uses the defined start. Every message
from there on is delivered again, including ones already acked; pending acks are dropped.
A pull that arrives in the instant between delete and create is answered by the gateway
creating the consumer anew from the start; rewind then retries once.`;

const PAUSE_HELP = `
Consumer pause is a JetStream feature of nats-server 2.11 and later: a paused consumer
delivers nothing (HTTP pulls and NATS readers alike) until resumed or until --until.
On nats-server 2.10 there is no such feature and this command refuses with exit code 1.`;

export function consumersCommand(program: Command, ctx: CliContext): void {
  const consumers = program
    .command("consumers")
    .description("users' durable JetStream consumers: state, rewind, pause, delete, recreate");

  /** Resolves `<user> [name]` to the durable; the user must exist. */
  const target = async (userName: string, name = "default"): Promise<Target> => {
    if (!CONSUMER_NAME.test(name)) throw new UsageError(`consumer names are 1-32 chars of a-z, 0-9, '_', '-': ${name}`);
    const user = await findUserByName(await ctx.db(), userName);
    return { user, consumer: name, durable: durableName(user.id, name) };
  };
  const info = (s: JetStreamSession, t: Target) =>
    orNotFound(s.jsm.consumers.info(s.stream, t.durable), `${t.user.name} has no consumer ${t.consumer} (JetStream durable ${t.durable})`);
  const userNames = async () => new Map((await listUsers(await ctx.db())).map((u) => [u.id, u.name]));
  /**
   * Recreates the durable from its definition (the `consumers` row: start policy, max_deliver)
   * and its plan (filter subjects from its subscriptions and the user's current grants), keeping
   * the durable's other settings (ack wait, max ack pending); `start` overrides the row's start.
   * Returns its new state.
   */
  const recreateWith = async (t: Target, start?: Start) => {
    const db = await ctx.db();
    const row = await requireConsumer(db, t.user.id, t.consumer).catch((err: unknown) => {
      if (err instanceof BrokerError && err.code === "not_found") throw new BrokerError("not_found", `${t.user.name} has no consumer ${t.consumer}`);
      throw err;
    });
    const plan = await consumerPlan(db, row);
    const names = await userNames();
    return withJetStream(ctx, async (s) => {
      const after = await new ConsumerManager({ jsm: s.jsm, stream: s.stream }).rebuild(row, plan.filters, start && startFrom(start));
      if (!after) throw new BrokerError("not_found", `${t.user.name} has no consumer ${t.consumer} (JetStream durable ${t.durable})`);
      return consumerJson(after, names);
    });
  };

  consumers
    .command("list")
    .description("every consumer on the stream with pending, ack-pending, redelivered and last activity")
    .option("--user <name>", "only this user's consumers")
    .action(async (opts: { user?: string }) => {
      const only = opts.user ? (await findUserByName(await ctx.db(), opts.user)).id : undefined;
      const names = await userNames();
      const rows = await withJetStream(ctx, async ({ jsm, stream }) => {
        const out: ReturnType<typeof consumerJson>[] = [];
        const lister = await orNotFound(Promise.resolve(jsm.consumers.list(stream)), `stream ${stream} not found`);
        for await (const ci of lister) {
          const row = consumerJson(ci, names);
          if (!only || row.user_id === only) out.push(row);
        }
        return out.sort((a, b) => (a.user ?? "~").localeCompare(b.user ?? "~") || a.durable.localeCompare(b.durable));
      });
      if (ctx.json) return ctx.out.json({ consumers: rows });
      ctx.out.table(
        rows,
        {
          user: (r) => r.user ?? (r.user_id ? `(deleted ${r.user_id})` : "-"),
          consumer: (r) => r.consumer ?? r.durable,
          pending: (r) => r.pending,
          ack_pending: (r) => r.ack_pending,
          redelivered: (r) => r.redelivered,
          last_active: (r) => r.last_active ?? "never",
          paused: (r) => r.paused,
        },
        "consumers",
      );
    });

  consumers
    .command("info")
    .description("one consumer's position, counters and settings")
    .argument("<user>", "the user's name")
    .argument("[name]", NAME_ARG)
    .action(async (userName: string, name: string | undefined) => {
      const t = await target(userName, name);
      const names = await userNames();
      const view = await withJetStream(ctx, async (s) => consumerJson(await info(s, t), names));
      if (ctx.json) return ctx.out.json(view);
      ctx.out.record({
        user: view.user,
        consumer: view.consumer,
        durable: view.durable,
        pending: view.pending,
        ack_pending: view.ack_pending,
        redelivered: view.redelivered,
        waiting_pulls: view.waiting,
        last_delivered: `#${view.delivered_seq}`,
        ack_floor: `#${view.ack_floor_seq}`,
        last_active: view.last_active ?? "never",
        paused: view.paused,
        deliver_policy: view.deliver_policy + (view.opt_start_seq ? ` from #${view.opt_start_seq}` : view.opt_start_time ? ` from ${view.opt_start_time}` : ""),
        ack_wait: view.ack_wait,
        max_deliver: view.max_deliver ?? "unlimited",
        max_ack_pending: view.max_ack_pending,
        filter_subjects: view.filter_subjects.join(" "),
        created: view.created_at,
      });
    });

  consumers
    .command("rewind")
    .description("restart a consumer from a stream sequence or a time (recreates it: see below)")
    .argument("<user>", "the user's name")
    .argument("[name]", NAME_ARG)
    .addOption(new Option("--to-seq <n>", "the first stream sequence to deliver again").argParser(positiveInt("--to-seq")))
    .addOption(new Option("--to-time <iso>", "deliver again everything stored from this time on").conflicts("toSeq"))
    .addHelpText("after", REWIND_HELP)
    .action(async (userName: string, name: string | undefined, opts: { toSeq?: number; toTime?: string }) => {
      if (opts.toSeq === undefined && opts.toTime === undefined) throw new UsageError("say where to rewind to: --to-seq <n> or --to-time <iso>");
      const start = opts.toSeq !== undefined ? { seq: opts.toSeq } : { time: parseTime("--to-time", opts.toTime!) };
      const t = await target(userName, name);
      const view = await recreateWith(t, start);
      if (ctx.json) return ctx.out.json(view);
      const where = "seq" in start ? `sequence ${start.seq}` : start.time.toISOString();
      ctx.out.line(`rewound ${t.user.name}/${t.consumer} to ${where}: ${view.pending} message(s) to deliver`);
    });

  consumers
    .command("recreate")
    .description("delete a consumer and create it again from its definition (start, max_deliver, subscriptions)")
    .argument("<user>", "the user's name")
    .argument("[name]", NAME_ARG)
    .addHelpText(
      "after",
      "\nThe consumer is rebuilt from its definition: the start policy and max_deliver of its database row\n" +
        "(default: everything retained; a named consumer: the start chosen when it was created, not a\n" +
        "rewind's), and filter subjects recomputed from its subscriptions and the user's current grants;\n" +
        "ack settings are kept. Messages are delivered again from that start. Use it to repair a\n" +
        "consumer; use `rewind` to choose the start.",
    )
    .action(async (userName: string, name: string | undefined) => {
      const t = await target(userName, name);
      const view = await recreateWith(t);
      if (ctx.json) return ctx.out.json(view);
      ctx.out.line(`recreated ${t.user.name}/${t.consumer} (${view.deliver_policy}): ${view.pending} message(s) to deliver`);
    });

  consumers
    .command("delete")
    .description("delete a consumer's JetStream durable (its position and pending acks)")
    .argument("<user>", "the user's name")
    .argument("[name]", NAME_ARG)
    .addHelpText(
      "after",
      "\nNothing in the stream is deleted, and neither is the consumer's definition in the database:\n" +
        "the gateway creates the durable again on the user's next pull, from its start policy\n" +
        "(for `default`: everything retained, so everything is delivered again).",
    )
    .action(async (userName: string, name: string | undefined) => {
      const t = await target(userName, name);
      await withJetStream(ctx, async (s) => {
        await orNotFound(s.jsm.consumers.delete(s.stream, t.durable), `${t.user.name} has no consumer ${t.consumer} (JetStream durable ${t.durable})`);
      });
      if (ctx.json) ctx.out.json({ user: t.user.name, consumer: t.consumer, durable: t.durable, deleted: true });
      else ctx.out.line(`deleted ${t.user.name}/${t.consumer} (${t.durable})`);
    });

  for (const verb of ["pause", "resume"] as const) {
    const cmd = consumers
      .command(verb)
      .description(verb === "pause" ? "stop a consumer's deliveries (nats-server 2.11+)" : "resume a paused consumer (nats-server 2.11+)")
      .argument("<user>", "the user's name")
      .argument("[name]", NAME_ARG)
      .addHelpText("after", PAUSE_HELP);
    if (verb === "pause") cmd.option("--until <iso>", "resume by itself at this time (default: until `resume`)");
    cmd.action(async (userName: string, name: string | undefined, opts: { until?: string }) => {
      const until = opts.until ? parseTime("--until", opts.until) : undefined;
      const t = await target(userName, name);
      const result = await withJetStream(ctx, async (s) => {
        if (!versionAtLeast(s.serverVersion, "2.11")) {
          throw new BrokerError(
            "unavailable",
            `consumer ${verb} needs nats-server 2.11 or later; this server is ${s.serverVersion}, whose JetStream has no pause. ` +
              "To stop a user's deliveries on 2.10, disable the user (`users disable`) or revoke his tokens.",
          );
        }
        await info(s, t);
        return verb === "pause"
          ? s.jsm.consumers.pause(s.stream, t.durable, until ?? new Date("9999-12-31T00:00:00Z"))
          : s.jsm.consumers.resume(s.stream, t.durable);
      });
      const out = { user: t.user.name, consumer: t.consumer, paused: result.paused, pause_until: result.pause_until ?? null };
      if (ctx.json) return ctx.out.json(out);
      ctx.out.line(result.paused ? `paused ${t.user.name}/${t.consumer}${until ? ` until ${until.toISOString()}` : ""}` : `resumed ${t.user.name}/${t.consumer}`);
    });
  }
}

type Start = { seq: number } | { time: Date };

const startFrom = (s: Start): ConsumerStart => ("seq" in s ? { policy: "sequence", sequence: s.seq } : { policy: "time", time: s.time });

function positiveInt(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${option}: expected a positive integer, got ${value}`);
    return n;
  };
}
