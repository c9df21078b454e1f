import type { Command } from "commander";
import {
  BrokerError,
  createSubscription,
  deleteSubscription,
  findUserByName,
  listConsumers,
  listSubscriptions,
  subscriptionFiltersSchema,
  type PayloadFilter,
  type Scalar,
  type schema,
} from "@wb/authz";
import { UsageError, type CliContext } from "./context.js";

/** The JSON shape of a subscription: the HTTP API's. */
export function subscriptionJson(s: schema.Subscription, consumer: string) {
  return { id: s.id, consumer, webhook_path_pattern: s.webhookPathPattern, filters: s.filters, created_at: s.createdAt.toISOString() };
}

/** One `--payload` value: a JSON scalar (`42`, `true`, `null`, `"42"`) or else the text itself. */
function payloadScalar(text: string): Scalar {
  try {
    const v: unknown = JSON.parse(text);
    if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  } catch {
    // Not JSON: a plain string such as `opened` or `refs/heads/main`.
  }
  return text;
}

/**
 * `--payload key=value` options as a payload filter: `a,b` is one of a and b; a value that
 * starts with `[` is a JSON array of one-of values (for values containing commas).
 */
export function parsePayloadFilter(pairs: readonly string[]): PayloadFilter | undefined {
  if (pairs.length === 0) return undefined;
  const filter: PayloadFilter = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--payload: expected key=value (e.g. ref=refs/heads/main), got ${JSON.stringify(pair)}`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    if (Object.hasOwn(filter, key)) {
      throw new UsageError(`--payload: ${key} given twice; list one-of values with commas: ${key}=a,b`);
    }
    let value: Scalar | Scalar[];
    if (raw.startsWith("[")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new UsageError(`--payload ${key}: a value starting with [ must be a JSON array, got ${raw}`);
      }
      if (!Array.isArray(parsed)) throw new UsageError(`--payload ${key}: a value starting with [ must be a JSON array, got ${raw}`);
      value = parsed as Scalar[];
    } else {
      const items = raw.split(",").map(payloadScalar);
      value = items.length === 1 ? items[0]! : items;
    }
    filter[key] = value;
  }
  return filter;
}

/** `--event push,pull_request` (repeatable) as a list, without empties or duplicates. */
export function parseEvents(values: readonly string[]): string[] | undefined {
  const events = [...new Set(values.flatMap((v) => v.split(",")).map((e) => e.trim()).filter((e) => e !== ""))];
  if (values.length > 0 && events.length === 0) throw new UsageError("--event: name at least one event type (e.g. push,pull_request)");
  return events.length ? events : undefined;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

const CREATE_HELP = `
Patterns: /webhook/<endpoint path>[/...]; '*' matches exactly one path segment, '**' (last
segment only) any number, also none: /webhook/github/myrepo/** is everything under that
endpoint; a trailing /* is not a prefix. No partial wildcards (repo-*). The pattern
must start with the full path of an endpoint the user may read (his own, his organizations',
public ones); otherwise it is refused (exit 1, "reaches outside ..."). A pattern that
partially overlaps another subscription of the same consumer is refused too (exit 1).

Filters (all given must match):
  --event push,pull_request       the event type is one of these (applied in JetStream)
  --payload ref=refs/heads/main   a JSON path into the body equals this value
  --payload action=opened,closed  ... is one of these values
  --payload pull_request.number=42  values that read as JSON (42, true, null, "42") are typed:
                                  42 is the number, '"42"' the string (equality is strict)
  --payload 'title=["a,b","c"]'   a JSON array of one-of values, for values with commas
Payload filters are applied by the gateway: messages they reject are acked and counted,
never delivered. Give each key once.

Examples:
  pnpm cli subscriptions create alice '/webhook/github/myrepo/**' --event push
  pnpm cli subscriptions create alice '/webhook/github/myrepo/**' --consumer ci \\
    --event pull_request --payload action=opened,synchronize --payload pull_request.base.ref=main`;

export function subscriptionsCommand(program: Command, ctx: CliContext): void {
  const subscriptions = program
    .command("subscriptions")
    .description("narrow what a user's consumers deliver: path patterns, event types, payload filters")
    .addHelpText(
      "after",
      "\nA consumer without subscriptions delivers everything its user may read. Changes are announced\n" +
        "on NATS (GRANTS_CHANGED_SUBJECT, scoped to the user), so the gateways update the durable's\n" +
        "filter subjects within seconds, keeping its position.",
    );

  /** The service's refusals (403 outside his grants, 409 overlap, 400 bad pattern, 404 consumer) name the user. */
  const refused = (user: { name: string }, consumerName: string, what: string) => (err: unknown) => {
    if (err instanceof BrokerError && err.code === "not_found") throw new BrokerError("not_found", `${user.name} has no consumer ${consumerName}`);
    if (err instanceof BrokerError && ["forbidden", "conflict", "invalid_request"].includes(err.code)) {
      throw new BrokerError(err.code, `cannot ${what} for ${user.name}: ${err.message}`);
    }
    throw err;
  };

  subscriptions
    .command("list")
    .description("list a user's subscriptions")
    .argument("<user>", "the user's name")
    .option("--consumer <name>", "only this consumer's subscriptions")
    .action(async (userName: string, opts: { consumer?: string }) => {
      const db = await ctx.db();
      const user = await findUserByName(db, userName);
      if (opts.consumer !== undefined && opts.consumer !== "default") {
        const names = (await listConsumers(db, user.id)).map((c) => c.name);
        if (!names.includes(opts.consumer)) throw new BrokerError("not_found", `${user.name} has no consumer ${opts.consumer}`);
      }
      const rows = (await listSubscriptions(db, user.id)).filter((s) => opts.consumer === undefined || s.consumerName === opts.consumer);
      if (ctx.json) return ctx.out.json({ subscriptions: rows.map((s) => subscriptionJson(s, s.consumerName)) });
      ctx.out.table(
        rows,
        {
          id: (s) => s.id,
          consumer: (s) => s.consumerName,
          pattern: (s) => s.webhookPathPattern,
          events: (s) => s.filters.event_type?.join(",") ?? "*",
          payload: (s) => (s.filters.payload ? JSON.stringify(s.filters.payload) : "-"),
          created: (s) => s.createdAt,
        },
        "subscriptions",
      );
    });

  subscriptions
    .command("create")
    .description("subscribe one of a user's consumers to a path pattern, optionally filtered")
    .argument("<user>", "the user's name")
    .argument("<pattern>", "e.g. '/webhook/github/myrepo/**' (quote it: the shell expands *)")
    .option("--consumer <name>", "the consumer", "default")
    .option("--event <types>", "event types, comma-separated, repeatable (e.g. push,pull_request)", collect)
    .option("--payload <path=value>", "payload condition, repeatable; a,b means one of (see below)", collect)
    .addHelpText("after", CREATE_HELP)
    .action(async (userName: string, pattern: string, opts: { consumer: string; event?: string[]; payload?: string[] }) => {
      const events = parseEvents(opts.event ?? []);
      const payload = parsePayloadFilter(opts.payload ?? []);
      const parsed = subscriptionFiltersSchema.safeParse({ ...(events ? { event_type: events } : {}), ...(payload ? { payload } : {}) });
      if (!parsed.success) {
        throw new BrokerError("invalid_request", `invalid filters: ${parsed.error.issues.map((i) => `${[...i.path].join(".") || "filters"}: ${i.message}`).join("; ")}`);
      }
      const filters: schema.SubscriptionFilters = parsed.data;
      const db = await ctx.db();
      const user = await findUserByName(db, userName);
      const { subscription, consumer } = await createSubscription(db, user.id, { pattern, filters, consumer: opts.consumer }).catch(
        refused(user, opts.consumer, `subscribe to ${pattern}`),
      );
      await ctx.announceGrants({ user_ids: [user.id], change: "subscription_created" });
      if (ctx.json) return ctx.out.json(subscriptionJson(subscription, consumer.name));
      ctx.out.line(`created subscription ${subscription.id}: ${user.name}/${consumer.name} ${subscription.webhookPathPattern}`);
    });

  subscriptions
    .command("delete")
    .description("delete one of a user's subscriptions (with none left, the consumer delivers all he may read)")
    .argument("<user>", "the user's name")
    .argument("<id>", "the subscription's id (see `subscriptions list`)")
    .action(async (userName: string, id: string) => {
      const db = await ctx.db();
      const user = await findUserByName(db, userName);
      const { subscription, consumer } = await deleteSubscription(db, user.id, id).catch((err: unknown) => {
        if (err instanceof BrokerError && err.code === "not_found") throw new BrokerError("not_found", `${user.name} has no subscription ${id}`);
        throw err;
      });
      await ctx.announceGrants({ user_ids: [user.id], change: "subscription_deleted" });
      if (ctx.json) return ctx.out.json({ id: subscription.id, user: user.name, consumer: consumer.name, deleted: true });
      ctx.out.line(`deleted subscription ${subscription.id} (${user.name}/${consumer.name} ${subscription.webhookPathPattern})`);
    });
}
