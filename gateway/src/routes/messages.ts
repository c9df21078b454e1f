import { Hono } from "hono";
import { DeliverPolicy, type Consumer, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import {
  BrokerError,
  CONSUMER_NAME,
  durableName,
  parseDeliverySubject,
  readableEndpointIds,
  type Db,
} from "@wb/authz";
import { parseDuration, type Config } from "../config.js";
import { grantFilters, isNotFound, type ConsumerManager } from "../consumers.js";
import { fromJsMsg, renderMessage } from "../deliveries.js";
import type { AppEnv } from "../env.js";
import { parseJson } from "../validate.js";

export interface MessagesDeps {
  db: Db;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  consumers: ConsumerManager;
  config: Config;
}

/** JetStream refuses pull requests that expire sooner than this. */
const MIN_FETCH_MS = 1_000;

const pullQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  wait: z.string().default("0s"),
  consumer: z.string().regex(CONSUMER_NAME, "consumer names are 1-32 chars of a-z, 0-9, '_', '-'").default("default"),
  after_id: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

const ackBody = z.strictObject({
  message_ids: z.array(z.number().int().positive().max(Number.MAX_SAFE_INTEGER)).min(1).max(1000),
  consumer: z.string().regex(CONSUMER_NAME).default("default"),
});

export function messageRoutes(deps: MessagesDeps) {
  const app = new Hono<AppEnv>();
  const stream = deps.config.STREAM_NAME;

  app.get("/", async (c) => {
    const q = pullQuery.safeParse(c.req.query());
    if (!q.success) throw new BrokerError("invalid_request", q.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    const waitMs = parseDuration(q.data.wait);
    if (waitMs === undefined) throw new BrokerError("invalid_request", "wait must be a duration such as 0s, 500ms or 20s");
    const wait = Math.min(Math.max(waitMs, MIN_FETCH_MS), deps.config.MAX_POLL_WAIT);
    const principal = c.get("principal");
    const readable = await readableEndpointIds(deps.db, principal.userId);
    const filters = grantFilters(readable);

    let consumer: Consumer;
    if (q.data.after_id !== undefined) {
      // Replay: an ephemeral ordered consumer over the same grants; ack state is untouched.
      consumer = await deps.js.consumers.get(stream, {
        filter_subjects: filters,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: q.data.after_id + 1,
      });
    } else {
      consumer = await deps.consumers.ensure(durableName(principal.userId, q.data.consumer), filters);
    }

    const allowed = new Set(readable);
    const out: string[] = [];
    let pending = 0;
    let lastId = q.data.after_id;
    const iter = await consumer.fetch({ max_messages: q.data.limit, expires: wait });
    for await (const m of iter) {
      pending = m.info.pending;
      lastId = m.seq;
      const endpointId = parseDeliverySubject(m.subject).endpointId;
      if (allowed.has(endpointId)) {
        out.push(renderMessage(q.data.after_id !== undefined ? { ...fromJsMsg(m), redeliveryCount: undefined } : fromJsMsg(m)));
      } else {
        // Delivered under a grant revoked since: never shown, and not left to redeliver.
        m.ack();
      }
      // Return as soon as nothing more is waiting, rather than holding the poll open.
      if (pending === 0 && out.length > 0) break;
    }
    const body = `{"messages":[${out.join(",")}],"has_more":${pending > 0},"next_cursor":${lastId === undefined ? "null" : JSON.stringify(String(lastId))}}`;
    return c.body(body, 200, { "Content-Type": "application/json" });
  });

  app.post("/ack", async (c) => {
    const body = await parseJson(c, ackBody);
    const principal = c.get("principal");
    const readable = new Set(await readableEndpointIds(deps.db, principal.userId));
    const durable = durableName(principal.userId, body.consumer);
    const ids = [...new Set(body.message_ids)];

    // Foreign and unknown ids get the same answer, so ids cannot be probed.
    const found = await Promise.all(ids.map((seq) => lookup(deps.jsm, stream, seq)));
    const missing = ids.find((_, i) => !found[i] || !readable.has(found[i]!));
    if (missing !== undefined) throw new BrokerError("message_not_found", `message ${missing} not found`);

    // The server finds the pending delivery by stream sequence; the other fields are not needed.
    for (const seq of ids) deps.nc.publish(`$JS.ACK.${stream}.${durable}.1.${seq}.0.0.0`, "+ACK");
    await deps.nc.flush();
    return c.json({ acked: ids });
  });

  return app;
}

/** The endpoint id of a stored message, or undefined when there is no such message. */
async function lookup(jsm: JetStreamManager, stream: string, seq: number): Promise<string | undefined> {
  try {
    const m = await jsm.direct.getMessage(stream, { seq });
    if (!m) return undefined;
    return parseDeliverySubject(m.subject).endpointId;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

