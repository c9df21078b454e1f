import { setTimeout as sleep } from "node:timers/promises";
import { createRoute } from "@hono/zod-openapi";
import { DeliverPolicy, type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import {
  ackPayload,
  ackSubject,
  addFilteredCount,
  BrokerError,
  consumerPlan,
  grantFilterSubjects,
  CONSUMER_NAME,
  isConsumerGone,
  CONSUMER_NAME_RULE,
  parseDeliverySubject,
  readableEndpointIds,
  recordDeadLetter,
  requireConsumer,
  parseDuration,
  type ConsumerManager,
  type Db,
  type Principal,
  type Settlement,
} from "@wb/authz";
import type { AckTokens } from "../ack-token.js";
import { settleConfirmed } from "../nats/confirmed-acks.js";
import type { NatsLink } from "../nats/link.js";
import type { SettledJournal } from "../nats/settled-journal.js";
import { natsDown } from "../nats/publish-errors.js";
import type { Config } from "../config.js";
import { deliveryFilter, fromJsMsg, lookupMany, passesQuery, renderPage } from "../deliveries.js";
import { parseQueryFilter, type QueryFilter } from "../query-filter.js";
import { takeWaiting, type Delivery } from "../nats/take-waiting.js";
import { declare, errors, json, jsonBody, router } from "../openapi.js";
import { Pull, Settled } from "./messages-schemas.js";
import type { GatewayMetrics } from "../metrics.js";
import { parseJson } from "../validate.js";

export interface MessagesDeps {
  db: Db;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  consumers: ConsumerManager;
  config: Config;
  ackTokens: AckTokens;
  link: NatsLink;
  metrics: GatewayMetrics;
  journal: SettledJournal;
}

/** JetStream refuses pull requests that expire sooner than this. */
const MIN_FETCH_MS = 1_000;
/** After a redelivery, how long a pull keeps asking for more that fall due (see collect). */
const REDELIVERY_QUIET_MS = 100;
const REDELIVERY_POLL_MS = 10;
/** Longest `nak` delay accepted. */
const MAX_NAK_DELAY_MS = 24 * 3_600_000;
/** Replays (`after_id`) one user may run at once on one gateway: each holds a JetStream consumer while it runs. */
export const MAX_REPLAYS_PER_USER = 4;

const consumerName = z.string().regex(CONSUMER_NAME, CONSUMER_NAME_RULE);
/** The read filters of pulls, replays and streams (see query-filter.ts). */
export const filterFields = {
  source: z.string().max(2_000).optional(),
  event: z.string().max(2_000).optional(),
  endpoint_id: z.string().max(2_000).optional(),
  path: z.string().max(2_000).optional(),
};
/** How many messages one filtered read on a durable looks at, at most (those it skips stay pending). */
export const MAX_FILTER_SCAN = 1_000;

/**
 * The query's filters, refused on a durable with max_deliver: a message a filter skips stays
 * pending and comes back after the ack wait, and each such delivery would count toward
 * max_deliver, dead-lettering messages nobody was shown.
 */
export function readFilter(q: Parameters<typeof parseQueryFilter>[0], maxDeliver: number | null | undefined, durable: boolean): QueryFilter | undefined {
  const f = parseQueryFilter(q);
  if (f && durable && maxDeliver) {
    throw new BrokerError("invalid_request", "filters are refused on a consumer with max_deliver (skipped messages would count toward it): read it unfiltered, use a subscription, or replay with after_id");
  }
  return f;
}
/**
 * What every read of a consumer checks first (pulls and live streams): the consumer must be the
 * caller's (else 404, as for one that does not exist), the query's filters must suit it, and
 * the plan says what he may read now.
 */
export async function openRead(db: Db, userId: string, q: Parameters<typeof parseQueryFilter>[0] & { consumer: string }, durable: boolean) {
  const row = await requireConsumer(db, userId, q.consumer);
  const filter = readFilter(q, row.maxDeliver, durable);
  const plan = await consumerPlan(db, row);
  return { row, plan, filter };
}

/** `payload=base64`: every payload as base64 (the exact bytes); `auto`: JSON inline where it is JSON. */
export const payloadEncoding = z.enum(["auto", "base64"]).default("auto");

const pullQuery = z.object({
  // Up to 1,000: as many as one ack request settles, so a reader catching up pulls and acks in pairs.
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  wait: z.string().default("0s"),
  consumer: consumerName.default("default"),
  after_id: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  payload: payloadEncoding,
  ...filterFields,
});

const settleFields = {
  message_ids: z.array(z.number().int().positive().max(Number.MAX_SAFE_INTEGER)).max(1000).default([]),
  /** The `ack_token`s pulls return: no ownership lookup needed, so cheaper than ids. */
  ack_tokens: z.array(z.string().max(64)).max(1000).default([]),
  consumer: consumerName.default("default"),
};
const oneOf = (b: { message_ids: number[]; ack_tokens: string[] }) => b.message_ids.length + b.ack_tokens.length > 0;
const NEED_IDS = { message: "send message_ids or ack_tokens (or both)" };
const settleBody = z.strictObject(settleFields).refine(oneOf, NEED_IDS);
const nakBody = z.strictObject({ ...settleFields, delay: z.string().optional() }).refine(oneOf, NEED_IDS);

/** The response field that lists what each settlement settled. */
const SETTLED: Record<Settlement, string> = { ack: "acked", nak: "naked", in_progress: "in_progress", term: "terminated" };

export function messageRoutes(deps: MessagesDeps) {
  const app = router();
  const stream = deps.config.STREAM_NAME;
  /** Replays running now, per user (this process). */
  const replaying = new Map<string, number>();

  const pull = createRoute({
    method: "get",
    path: "/",
    tags: ["messages"],
    summary: "Pull messages (long-poll up to wait); after_id replays from an id without touching ack state",
    request: { query: pullQuery },
    responses: { 200: json(Pull, "Messages, oldest first"), ...errors(400, 404, 429) },
  });
  declare(app, pull, async (c) => {
    const q = { data: c.req.valid("query") };
    const waitMs = parseDuration(q.data.wait);
    if (waitMs === undefined) throw new BrokerError("invalid_request", "wait must be a duration such as 0s, 500ms or 20s");
    const wait = Math.min(Math.max(waitMs, MIN_FETCH_MS), deps.config.MAX_POLL_WAIT);
    const principal = c.get("principal");
    const replay = q.data.after_id !== undefined;
    const { row, plan, filter } = await openRead(deps.db, principal.userId, q.data, !replay);
    if (replay) {
      const running = replaying.get(principal.userId) ?? 0;
      if (running >= MAX_REPLAYS_PER_USER) {
        throw new BrokerError("rate_limited", `at most ${MAX_REPLAYS_PER_USER} replays (after_id) at once; retry when one has finished`, { retryAfterSeconds: 1 });
      }
      replaying.set(principal.userId, running + 1);
    }
    const open = (): Promise<Consumer> =>
      replay
        ? // Replay: an ephemeral ordered consumer over everything readable; ack state is untouched.
          deps.js.consumers.get(stream, {
            filter_subjects: grantFilterSubjects([...plan.readable]),
            deliver_policy: DeliverPolicy.StartSequence,
            opt_start_seq: q.data.after_id! + 1,
          })
        : deps.consumers.ensure(row, plan.filters);

    // Checked here as well as by JetStream: a durable's filters may lag a revocation by seconds.
    const verdict = replay ? (m: { subject: string }) => (plan.readable.has(parseDeliverySubject(m.subject).endpointId) ? "show" : "hide") : deliveryFilter(plan);
    let shown: Delivery[] = [];
    // Deliveries repeating a journaled ack or term (nats-server lost them in a crash) are taken out.
    if (!replay && !(await deps.journal.ready())) throw natsDown();
    const screen = deps.journal.screen(row.durableName);
    let filtered = 0;
    let pending = 0;
    let scanned = 0;
    const take = (m: Delivery) => {
      pending = m.info.pending;
      scanned++;
      if (!replay && screen.hold(m)) return;
      const v = verdict(m);
      // Not what the query asks for: left as it is (pending on a durable, for other reads).
      if (v === "show" && filter && !passesQuery(filter, m)) return;
      if (v === "show") shown.push(m);
      else if (v === "filter") {
        // Rejected by the reader's own subscriptions: acked (never shown, never redelivered) and counted.
        m.ack();
        filtered++;
      }
      // "hide": delivered under a grant revoked since, before the durable's filters caught up.
      // Not shown; narrowing the filters acks it on this durable (ConsumerManager.update).
    };

    // What else the durable has for this reader right now (due redeliveries as well as new
    // messages); a replay's ordered consumer has no redeliveries, its pending count is exact.
    const waiting = replay ? undefined : (n: number) => takeWaiting(deps.nc, { stream, durable: row.durableName }, n, MIN_FETCH_MS);
    let consumer: Consumer | undefined;
    try {
      consumer = await open();
      await collect(consumer, q.data.limit, wait, take, () => shown.length, deps.link, waiting, () => filter !== undefined && scanned >= MAX_FILTER_SCAN);
    } catch (err) {
      // The durable was deleted behind this process's back (CLI, another gateway): once more.
      if (replay || !isConsumerGone(err)) throw err;
      deps.consumers.forget(row.durableName);
      consumer = await open();
      await collect(consumer, q.data.limit, wait, take, () => shown.length, deps.link, waiting, () => filter !== undefined && scanned >= MAX_FILTER_SCAN);
    } finally {
      if (replay) {
        // The replay's ephemeral consumer goes with the request (JetStream would keep it 5 minutes).
        await consumer?.delete().catch(() => {});
        const left = (replaying.get(principal.userId) ?? 1) - 1;
        if (left > 0) replaying.set(principal.userId, left);
        else replaying.delete(principal.userId);
      }
    }
    if (!replay) shown = await screen.finish(shown);
    if (c.req.raw.signal.aborted && !replay) {
      // The client left during the long-poll: hand its messages back now, not after the ack wait.
      for (const m of shown) m.nak();
      shown.length = 0;
    }
    const stored = shown.map((m) =>
      replay ? { ...fromJsMsg(m), redeliveryCount: undefined } : { ...fromJsMsg(m), ackToken: deps.ackTokens.issue(row.durableName, m.seq, m.info.deliveryCount) },
    );
    deps.metrics.delivered.inc({ user: deps.metrics.users.value(principal.name), mode: replay ? "replay" : "pull" }, stored.length);
    const lastId = shown.length > 0 ? shown[shown.length - 1]!.seq : q.data.after_id;
    if (filtered > 0) await addFilteredCount(deps.db, row.id, filtered);
    // A full page may have been cut short of redeliveries, which the pending count does not include.
    const hasMore = pending > 0 || (!replay && shown.length === q.data.limit);
    const rest = `,"has_more":${hasMore},"next_cursor":${lastId === undefined ? "null" : JSON.stringify(String(lastId))}}`;
    return c.body(renderPage(stored, { base64: q.data.payload === "base64" }, rest), 200, { "Content-Type": "application/json" });
  });

  /**
   * ack, nak, in_progress and term share one path: the consumer must be the caller's and every
   * id must be a message he may read, else one 404 and nothing is settled.
   */
  const settle = async (kind: Settlement, principal: Principal, body: z.infer<typeof settleBody>, delayMs?: number) => {
    const principalId = principal.userId;
    const row = await requireConsumer(deps.db, principalId, body.consumer);
    // Delivery counts by sequence, as carried by the handles (message_ids carry none).
    const counts = new Map<number, number>();
    const fromTokens = body.ack_tokens.map((t) => {
      const handle = deps.ackTokens.open(row.durableName, t);
      // A handle of another consumer, or a forged one, is as unknown as a missing message.
      if (handle === undefined) throw new BrokerError("message_not_found", "ack token not found");
      counts.set(handle.seq, Math.max(handle.deliveryCount, counts.get(handle.seq) ?? 1));
      return handle.seq;
    });
    const ids = [...new Set(body.message_ids)].filter((id) => !fromTokens.includes(id));
    if (ids.length > 0) {
      const readable = new Set(await readableEndpointIds(deps.db, principalId));
      // Foreign and unknown ids get the same answer, so ids cannot be probed.
      const found = await lookupMany(deps.jsm, stream, ids);
      const missing = ids.find((seq) => !readable.has(found.get(seq) ?? ""));
      if (missing !== undefined) throw new BrokerError("message_not_found", `message ${missing} not found`);
    }
    const unique = [...new Set([...fromTokens, ...ids])];

    // Down now: no request could be confirmed; answer at once instead of after the timeout.
    if (!deps.link.up) throw natsDown();
    const info = await deps.consumers.info(row.durableName);
    const delivered = info?.delivered;
    // JetStream settles only what this consumer has delivered: it never answers a settlement of a
    // later message, so asking would only wait out the timeout. Those are reported, not settled.
    const lastDelivered = delivered?.stream_seq ?? 0;
    const deliverable = unique.filter((seq) => seq <= lastDelivered);
    const notDelivered = unique.filter((seq) => seq > lastDelivered);
    // A nak is ignored unless its consumer sequence lies in (ack floor, last delivered]: the
    // durable's last delivered one always does. The delivery count is known from ack tokens only
    // (a term by message_ids is recorded with count 1, see ackSubject).
    const consumerSeq = kind === "nak" ? (delivered?.consumer_seq ?? 0) : 0;
    const payload = ackPayload(kind, delayMs);
    // Confirmed settlement (issue 16 #1: a fire-and-forget publish could be lost unseen): one
    // request per page, whose reply comes only after the server has applied every settlement of
    // the page to the consumer's state (see settleConfirmed). nats-server writes that state to
    // disk up to 100 ms later (filestore consumer flushLoop).
    const subjects = deliverable.map((streamSeq) => ackSubject({ stream, durable: row.durableName, streamSeq, consumerSeq, deliveryCount: counts.get(streamSeq) }));
    // An ack or term is also journaled (fsynced) before the 200, for the ~100 ms after it that
    // nats-server's own state may still be lost (see SettledJournal). Both must succeed.
    const journaled = kind === "ack" || kind === "term" ? deps.journal.record(row.durableName, kind, info?.created ?? "", deliverable) : true;
    const [confirmed, recorded] = await Promise.all([deps.link.up && settleConfirmed(deps.nc, subjects, payload, deps.config.PUBLISH_TIMEOUT), journaled]);
    if (!confirmed || !recorded) {
      // Settling twice is harmless, so the caller can simply send the same request again.
      throw new BrokerError("unavailable", `the broker did not confirm the ${kind}; send it again`, { retryAfterSeconds: 1 });
    }
    // A term is recorded here, not only from the server's advisory: an advisory is a core NATS
    // message, lost when nats-server dies right after the term (the term itself may survive, so
    // nothing would ever send it again). The first insert wins, so the advisory's is a no-op.
    if (kind === "term") await recordTerms(deps, stream, row.durableName, deliverable, counts);
    deps.metrics.settled.inc({ user: deps.metrics.users.value(principal.name), kind }, deliverable.length);
    return { [SETTLED[kind]]: deliverable, ...(notDelivered.length > 0 && { not_delivered: notDelivered }) };
  };

  const settleRoute = (kind: Settlement, body: typeof settleBody | typeof nakBody, summary: string) =>
    createRoute({
      method: "post",
      path: `/${kind}`,
      tags: ["messages"],
      summary,
      request: { body: jsonBody(body) },
      responses: { 200: json(Settled, "Settled"), ...errors(400, 404, 503) },
    });
  const SUMMARY = {
    ack: "Acknowledge: done, never delivered again",
    in_progress: "Still working on it: restart the ack wait",
    term: "Give up on it: never delivered again, recorded as a dead letter",
  };
  for (const kind of ["ack", "in_progress", "term"] as const) {
    declare(app, settleRoute(kind, settleBody, SUMMARY[kind]), async (c) => {
      const body = await parseJson(c, settleBody);
      return c.json(await settle(kind, c.get("principal"), body));
    });
  }
  declare(app, settleRoute("nak", nakBody, "Not now: deliver it again (after delay)"), async (c) => {
    const body = await parseJson(c, nakBody);
    let delayMs: number | undefined;
    if (body.delay !== undefined) {
      delayMs = parseDuration(body.delay);
      if (delayMs === undefined || delayMs > MAX_NAK_DELAY_MS) throw new BrokerError("invalid_request", "delay must be a duration such as 500ms, 30s or 5m, at most 24h");
    }
    return c.json(await settle("nak", c.get("principal"), body, delayMs));
  });

  return app;
}

/**
 * Long-polls for the first message with a one-slot pull, then takes what else is deliverable at
 * once: on a durable with `waiting` (one no_wait pull request per round, answered at once with
 * due redeliveries and new messages alike: before, the server's pending count covered new
 * messages only, and due redeliveries came back one per pull); on a replay from pulls no larger
 * than the server's pending count. A pull is never abandoned with open slots: the server would
 * fill them after the response and the messages would sit unseen until the ack wait ran out
 * (the bench caught exactly that with a single large pull cut short).
 * A pull pending when the NATS connection drops is ended with `natsDown()` (503): nats.js would
 * hold it until the reconnect, however long that takes (issue 16 #2). What it had taken is not
 * returned; it comes back after the ack wait.
 */
async function collect(
  consumer: Consumer,
  limit: number,
  waitMs: number,
  take: (m: Delivery) => void,
  shown: () => number,
  link: NatsLink,
  waiting?: (n: number) => Promise<Delivery[]>,
  exhausted: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (shown() === 0 && !exhausted()) {
    const remaining = deadline - Date.now();
    let first: JsMsg | undefined;
    for await (const m of whileUp(await consumer.fetch({ max_messages: 1, expires: Math.max(MIN_FETCH_MS, remaining) }), link)) first = m;
    if (!first) return;
    take(first);
    if (waiting) {
      // Redeliveries fall due one by one, as each one's ack wait runs out: messages delivered
      // a few ms apart come back a few ms apart. After a redelivery, keep asking while they
      // still arrive, until none came for REDELIVERY_QUIET_MS.
      const redelivery = first.info.deliveryCount > 1;
      let lastArrival = Date.now();
      while (shown() < limit && !exhausted()) {
        const want = limit - shown();
        const batch = await waiting(want);
        for (const m of batch) take(m);
        if (batch.length === want) continue;
        if (batch.length > 0) lastArrival = Date.now();
        if (!redelivery || Date.now() - lastArrival >= REDELIVERY_QUIET_MS) break; // the server has no more
        await sleep(REDELIVERY_POLL_MS);
      }
    } else {
      let pending = first.info.pending;
      while (shown() < limit && pending > 0 && !exhausted()) {
        let got = 0;
        const batch = await consumer.fetch({ max_messages: Math.min(limit - shown(), pending), expires: MIN_FETCH_MS });
        for await (const m of whileUp(batch, link)) {
          take(m);
          pending = m.info.pending;
          got++;
        }
        if (got === 0) break; // another reader of the same consumer took them
      }
    }
    if (Date.now() >= deadline - MIN_FETCH_MS / 2) return;
  }
}

/**
 * Records terminated deliveries as dead letters (idempotent with the advisory's record). Best
 * effort: the term is already confirmed, and the advisory path still records it if this fails.
 */
async function recordTerms(deps: Pick<MessagesDeps, "db" | "jsm" | "metrics">, stream: string, durable: string, seqs: readonly number[], counts: ReadonlyMap<number, number>): Promise<void> {
  if (seqs.length === 0) return;
  try {
    const endpoints = await lookupMany(deps.jsm, stream, seqs);
    for (const seq of seqs) {
      const won = await recordDeadLetter(deps.db, { durable, streamSeq: seq, deliveryCount: counts.get(seq) ?? 1, reason: "terminated", endpointId: endpoints.get(seq) });
      if (won) deps.metrics.deadLetters.inc({ reason: "terminated" });
    }
  } catch {
    // Left to the advisory (see above).
  }
}

/** The pull's messages, ended with `natsDown()` as soon as the connection drops (or at once if it is down). */
async function* whileUp(pull: ConsumerMessages, link: NatsLink): AsyncGenerator<JsMsg> {
  const stop = () => pull.stop(natsDown());
  const off = link.onChange(stop);
  if (!link.up) stop();
  try {
    yield* pull;
  } finally {
    off();
  }
}
