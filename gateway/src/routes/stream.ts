/**
 * `GET /api/v1/messages/stream`: Server-Sent Events on the caller's durable consumer, the same
 * durable (and ack state) as pulls and direct NATS readers. See the README, "Live stream".
 */
import { createRoute } from "@hono/zod-openapi";
import type { Consumer, JsMsg } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { z } from "zod";
import {
  addFilteredCount,
  authenticateCredential,
  BrokerError,
  CONSUMER_NAME,
  CONSUMER_NAME_RULE,
  consumerPlan,
  isConsumerGone,
  parseDuration,
  parseSettlement,
  requireConsumer,
  type AccessTokenVerifier,
  type ConsumerManager,
  type Db,
} from "@wb/authz";
import type { AckTokens } from "../ack-token.js";
import type { Config } from "../config.js";
import type { GatewayMetrics } from "../metrics.js";
import { deliveryFilter, fromJsMsg, passesQuery, renderMessage, type Verdict } from "../deliveries.js";
import { InFlight, resumePoint, sseComment, sseEvent } from "../sse.js";
import { filterFields, openRead, payloadEncoding } from "./messages.js";
import type { SettledJournal } from "../nats/settled-journal.js";
import type { QueryFilter } from "../query-filter.js";
import { declare, errors, router } from "../openapi.js";

export interface StreamDeps {
  db: Db;
  nc: NatsConnection;
  consumers: ConsumerManager;
  config: Config;
  ackTokens: AckTokens;
  verifier: AccessTokenVerifier;
  log: Logger;
  metrics: GatewayMetrics;
  journal: SettledJournal;
  /** Aborted when the gateway shuts down: every open stream ends (clients reconnect elsewhere). */
  shutdown?: AbortSignal;
}

/** Unsettled events one stream may hold when the client does not say (`max_in_flight`). */
export const DEFAULT_MAX_IN_FLIGHT = 100;
export const MAX_IN_FLIGHT = 1_000;
/** How long one pull request to JetStream stays open; the stream then opens the next. */
const FETCH_EXPIRES_MS = 10_000;
/** How often a stream re-checks the caller's token, consumer and read access. */
const RECHECK_MS = 10_000;
/** The reconnect delay suggested to clients (`retry:`). */
const RETRY_MS = 2_000;

const streamQuery = z.object({
  consumer: z.string().regex(CONSUMER_NAME, CONSUMER_NAME_RULE).default("default"),
  ack: z.enum(["manual", "auto"]).default("manual"),
  max_in_flight: z.coerce.number().int().min(1).max(MAX_IN_FLIGHT).default(DEFAULT_MAX_IN_FLIGHT),
  heartbeat: z.string().default("15s"),
  after_id: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  payload: payloadEncoding,
  ...filterFields,
});

const stream = createRoute({
  method: "get",
  path: "/",
  tags: ["messages"],
  summary: "Server-Sent Events on the caller's durable (each event's id is the message id; Last-Event-ID resumes)",
  request: { query: streamQuery },
  responses: {
    200: {
      description: "An event stream: one `message` event per delivery (data: a Message as JSON), heartbeat comments in between, an `error` event before the server ends it",
      content: { "text/event-stream": { schema: z.string() } },
    },
    ...errors(400, 404),
  },
});

export function streamRoutes(deps: StreamDeps) {
  const app = router();

  declare(app, stream, async (c) => {
    const q = { data: c.req.valid("query") };
    const heartbeatMs = parseDuration(q.data.heartbeat);
    if (heartbeatMs === undefined || heartbeatMs < 1_000 || heartbeatMs > 300_000) {
      throw new BrokerError("invalid_request", "heartbeat must be a duration from 1s to 5m, such as 15s");
    }
    const resume = resumePoint(c.req.header("last-event-id"), q.data.after_id);
    if (Number.isNaN(resume)) throw new BrokerError("invalid_request", "Last-Event-ID must be a message id (a stream sequence)");
    const principal = c.get("principal");
    // The same checks as a pull, before anything is streamed: a foreign consumer is a 404.
    const { row, plan, filter } = await openRead(deps.db, principal.userId, q.data, true);
    const consumer = await deps.consumers.ensure(row, plan.filters);

    const session = new StreamSession(deps, {
      row,
      consumer,
      verdict: deliveryFilter(plan),
      bearer: /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "",
      auto: q.data.ack === "auto",
      window: new InFlight<JsMsg>(q.data.max_in_flight, deps.config.ACK_WAIT),
      heartbeatMs,
      resume,
      base64: q.data.payload === "base64",
      filter,
      signals: [c.req.raw.signal, ...(deps.shutdown ? [deps.shutdown] : [])],
      delivered: () => deps.metrics.delivered.inc({ user: deps.metrics.users.value(principal.name), mode: "stream" }),
    });
    return new Response(session.body(), {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        // nginx and similar proxies buffer responses unless told not to.
        "x-accel-buffering": "no",
      },
    });
  });

  return app;
}

interface SessionOptions {
  row: Awaited<ReturnType<typeof requireConsumer>>;
  consumer: Consumer;
  verdict: (m: { subject: string; data: Uint8Array }) => Verdict;
  bearer: string;
  auto: boolean;
  window: InFlight<JsMsg>;
  heartbeatMs: number;
  resume: number | undefined;
  base64: boolean;
  filter: QueryFilter | undefined;
  signals: AbortSignal[];
  /** Counts one event written to the socket (wb_messages_delivered_total, mode "stream"). */
  delivered: () => void;
}

type Wake = { kind: "msg"; r: IteratorResult<JsMsg> } | { kind: "tick" };

/**
 * One client's stream. Events are pulled from the durable only while the window has room, and
 * the next is produced only when the socket has taken the previous one (the body is a pull
 * stream read by the HTTP server as the socket drains), so a slow client holds at most
 * `max_in_flight` messages in this process.
 */
class StreamSession {
  readonly #abort = new AbortController();
  readonly #encoder = new TextEncoder();
  /** Ids at or below the resume point already held back once on this connection. */
  readonly #heldBack = new Set<number>();
  #wake: (() => void) | undefined;
  #settlements: Subscription | undefined;
  #filtered = 0;
  #consumer: Consumer;
  #verdict: SessionOptions["verdict"];

  constructor(
    private readonly deps: StreamDeps,
    private readonly o: SessionOptions,
  ) {
    this.#consumer = o.consumer;
    this.#verdict = o.verdict;
    for (const s of o.signals) {
      if (s.aborted) this.#abort.abort();
      else s.addEventListener("abort", () => this.#stop(), { once: true });
    }
  }

  body(): ReadableStream<Uint8Array> {
    const gen = this.#events();
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const { value, done } = await gen.next();
          if (done) controller.close();
          else controller.enqueue(this.#encoder.encode(value));
        },
        cancel: async () => {
          this.#stop();
          await gen.return(undefined);
        },
      },
      // Nothing is produced ahead of the socket: the next event is made when the last was written.
      { highWaterMark: 0 },
    );
  }

  #stop(): void {
    if (!this.#abort.signal.aborted) this.#abort.abort();
    this.#wake?.();
  }

  /** Resolves on the next settlement seen, window expiry, heartbeat time or stop. */
  #sleep(untilMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, Math.max(0, untilMs - Date.now()));
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
      if (this.#abort.signal.aborted) done();
    });
  }

  async *#events(): AsyncGenerator<string> {
    const { row, window } = this.o;
    const stream = this.deps.config.STREAM_NAME;
    // Settlements of this durable by anyone (HTTP settle on any gateway, NATS clients, this
    // stream's own auto acks) free the window.
    this.#settlements = this.deps.nc.subscribe(`$JS.ACK.${stream}.${row.durableName}.>`, {
      callback: (_err, m) => {
        const s = parseSettlement(m.subject, m.string());
        if (!s?.kind) return;
        if (s.kind === "in_progress") window.touch(s.streamSeq, Date.now());
        else if (window.delete(s.streamSeq)) this.#wake?.();
      },
    });
    let lastWrite = Date.now();
    let recheckAt = Date.now() + RECHECK_MS;
    let batch: { stop(): void } | undefined;
    let fetch: AsyncIterator<JsMsg> | undefined;
    let pending: Promise<IteratorResult<JsMsg>> | undefined;
    try {
      yield `retry: ${RETRY_MS}\n${sseComment("connected")}`;
      while (!this.#abort.signal.aborted) {
        const now = Date.now();
        if (now >= recheckAt) {
          recheckAt = now + RECHECK_MS;
          const reason = await this.#recheck();
          if (reason) {
            yield sseEvent(undefined, "error", JSON.stringify(reason));
            return;
          }
        }
        if (!fetch) {
          const free = window.free(now);
          if (free === 0) {
            // Window full: wait for a settlement, an ack wait to run out, or the heartbeat.
            const due = window.expire(now) ?? now + this.o.heartbeatMs;
            await this.#sleep(Math.min(due, lastWrite + this.o.heartbeatMs, recheckAt));
            this.#wake = undefined;
            if (Date.now() - lastWrite >= this.o.heartbeatMs && !this.#abort.signal.aborted) {
              yield sseComment("heartbeat");
              lastWrite = Date.now();
            }
            continue;
          }
          try {
            const b = await this.#consumer.fetch({ max_messages: free, expires: FETCH_EXPIRES_MS });
            batch = b;
            fetch = b[Symbol.asyncIterator]();
          } catch (err) {
            if (!isConsumerGone(err)) throw err;
            // Deleted behind this process's back (CLI, another gateway): made again, as a pull does.
            this.deps.consumers.forget(row.durableName);
            this.#consumer = await this.deps.consumers.ensure(row, (await consumerPlan(this.deps.db, row)).filters);
            continue;
          }
        }
        pending ??= fetch.next();
        const wake = await Promise.race<Wake>([
          pending.then((r) => ({ kind: "msg" as const, r })),
          this.#sleep(Math.min(lastWrite + this.o.heartbeatMs, recheckAt)).then(() => ({ kind: "tick" as const })),
        ]);
        // Whichever won, the other's timer goes.
        this.#wake?.();
        this.#wake = undefined;
        if (wake.kind === "tick") {
          if (Date.now() - lastWrite >= this.o.heartbeatMs && !this.#abort.signal.aborted) {
            yield sseComment("heartbeat");
            lastWrite = Date.now();
          }
          continue;
        }
        pending = undefined;
        if (wake.r.done) {
          fetch = undefined;
          batch = undefined;
          continue;
        }
        const m = wake.r.value;
        if (this.#abort.signal.aborted) {
          m.nak();
          continue;
        }
        // A repeat of a journaled ack or term (nats-server lost it in a crash): settled again, not sent.
        if (await this.deps.journal.repeated(row.durableName, m)) continue;
        const frame = this.#frame(m);
        if (frame === undefined) continue;
        yield frame;
        // The socket has taken it (the server asked for the next chunk).
        lastWrite = Date.now();
        this.o.delivered();
        if (this.o.auto) {
          window.delete(m.seq);
          // Journaled first, as an HTTP ack is: what was sent is never sent again.
          this.deps.journal.ackAfterRecord(row.durableName, (await this.#consumer.info(true)).created, m);
        }
      }
    } finally {
      this.#settlements?.unsubscribe();
      this.#wake = undefined;
      // First end the open pull request: its inbox goes, and JetStream skips a pull request
      // nobody listens to, so what is handed back below cannot flow into it again.
      batch?.stop();
      // What this stream holds unsettled goes back at once, not after the ack wait: in manual
      // mode everything sent and not settled (a written event may never have arrived), in auto
      // mode what was taken but not yet written.
      for (const m of window.takeAll()) m.nak();
      // And what the pull had already brought in, unread.
      if (fetch) void this.#handBack(fetch, pending);
      if (this.#filtered > 0) await addFilteredCount(this.deps.db, row.id, this.#filtered).catch(() => {});
    }
  }

  /** The event for a fetched message, or undefined when it is not to be shown. */
  #frame(m: JsMsg): string | undefined {
    const { window } = this.o;
    const verdict = this.#verdict(m);
    if (verdict === "filter") {
      // Rejected by the reader's own subscriptions (payload filters): acked and counted, as pulls do.
      m.ack();
      this.#filtered++;
      return undefined;
    }
    if (verdict === "hide") return undefined; // a revoked grant; narrowing the durable settles it
    // Not what the query asks for: left pending for other reads (it comes back after the ack wait).
    if (this.o.filter && !passesQuery(this.o.filter, m)) return undefined;
    if (this.o.resume !== undefined && m.seq <= this.o.resume && !this.#heldBack.has(m.seq)) {
      // The client says it has this one (a reconnect after a drop, its ack may be on the way):
      // left pending once; if still unsettled after the ack wait it is sent again.
      this.#heldBack.add(m.seq);
      return undefined;
    }
    window.add(m.seq, m, Date.now());
    const stored = fromJsMsg(m);
    const shown = this.o.auto ? stored : { ...stored, ackToken: this.deps.ackTokens.issue(this.o.row.durableName, m.seq, m.info.deliveryCount) };
    return sseEvent(m.seq, "message", renderMessage(shown, { base64: this.o.base64 }));
  }

  /** Why the stream must end now (token revoked, consumer gone), or undefined; refreshes read access. */
  async #recheck(): Promise<{ code: string; message: string } | undefined> {
    try {
      const found = await authenticateCredential(this.deps.db, this.deps.verifier, this.o.bearer);
      if (!found || found.principal.userId !== this.o.row.userId) return { code: "unauthenticated", message: "the token is unknown, expired or revoked" };
      const row = await requireConsumer(this.deps.db, this.o.row.userId, this.o.row.name);
      this.#verdict = deliveryFilter(await consumerPlan(this.deps.db, row));
      if (this.#filtered > 0) {
        await addFilteredCount(this.deps.db, row.id, this.#filtered);
        this.#filtered = 0;
      }
      return undefined;
    } catch (err) {
      if (err instanceof BrokerError) return { code: err.code, message: err.message };
      this.deps.log.warn({ err }, "stream: recheck failed; keeping the last plan");
      return undefined;
    }
  }

  async #handBack(fetch: AsyncIterator<JsMsg>, pending: Promise<IteratorResult<JsMsg>> | undefined): Promise<void> {
    try {
      for (let r = await (pending ?? fetch.next()); !r.done; r = await fetch.next()) r.value.nak();
    } catch {
      // The connection is closing; what could not be handed back returns after the ack wait.
    }
  }
}
