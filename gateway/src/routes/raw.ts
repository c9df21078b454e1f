/**
 * One stored message by id, for any message the caller may read (deliveries of endpoints he may
 * read, and redrive copies made for his own consumers; message-state.ts): `GET /api/v1/messages/:id`
 * as JSON (the pull's shape; with `consumer=`, where it stands on that consumer) and
 * `GET /api/v1/messages/:id/raw` exactly as the sender sent it (body byte for byte, its content
 * type, its headers as `X-Wb-Header-<name>`), so a reader can verify the sender's signature
 * itself. Anything else is the same 404 as a message that does not exist.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import {
  BrokerError,
  CONSUMER_NAME,
  CONSUMER_NAME_RULE,
  findDeadLetter,
  isMessageNotFound,
  isStreamNotFound,
  readableEndpointIds,
  requireConsumer,
  type ConsumerManager,
  type Db,
} from "@wb/authz";
import { H, isSenderHeader, renderMessage } from "../deliveries.js";
import { deliveryState, mayReadStored } from "../message-state.js";
import { declare, errors, instant, json, router } from "../openapi.js";
import { payloadEncoding } from "./messages.js";
import { Message } from "./messages-schemas.js";

export interface RawDeps {
  db: Db;
  jsm: JetStreamManager;
  consumers: ConsumerManager;
  config: { STREAM_NAME: string };
}

/** The broker's facts about a delivery, as response headers. */
const FACTS: [string, string][] = [
  ["X-Wb-Endpoint-Id", H.endpointId],
  ["X-Wb-Source", H.source],
  ["X-Wb-Event", H.event],
  ["X-Wb-Delivery-Id", H.deliveryId],
  ["X-Wb-Received-At", H.receivedAt],
  ["X-Wb-Verified", H.verified],
];

const messageId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const params = z.object({ id: z.string().openapi({ description: "The message id (a stream sequence)" }) });

const raw = createRoute({
  method: "get",
  path: "/{id}/raw",
  tags: ["messages"],
  summary: "One stored delivery exactly as sent: the body byte for byte, the sender's headers as X-Wb-Header-<name>",
  request: { params },
  responses: {
    200: { description: "The sender's body, under the sender's content type", content: { "*/*": { schema: z.string().openapi({ format: "binary" }) } } },
    ...errors(400, 404),
  },
});

const STATES = ["not_selected", "not_delivered", "awaiting_ack", "acked", "dead_letter"] as const;
const ConsumerState = z.object({
  name: z.string(),
  state: z.enum(STATES).openapi({
    description:
      "not_selected: this consumer's filters do not select it; not_delivered: not yet; awaiting_ack: delivered and not known to be settled (it may have been acked out of order); acked: settled; dead_letter: given up on (see dead_letter)",
  }),
  delivery_count: z.number().int().nullable().openapi({
    description: "How often this consumer delivered it, where certain: 0 before delivery, a dead letter's recorded count, 1 while awaiting its ack with no redelivery pending on the consumer; else null (JetStream keeps no per-message count it would tell)",
  }),
  dead_letter: z.object({ reason: z.string(), dead_at: instant, redrive_id: z.number().int().nullable() }).nullable(),
});
const oneQuery = z.object({
  consumer: z.string().regex(CONSUMER_NAME, CONSUMER_NAME_RULE).optional().openapi({ description: "Also say where the message stands on this consumer of yours" }),
  payload: payloadEncoding,
});
const one = createRoute({
  method: "get",
  path: "/{id}",
  tags: ["messages"],
  summary: "One stored message by id (a redrive copy too, to the owner of its consumer); with consumer=, where it stands on that consumer",
  description: "Read-only: no consumer's position or acks change.",
  request: { params, query: oneQuery },
  responses: { 200: json(Message.extend({ consumer: ConsumerState.optional() }), "The message"), ...errors(400, 404) },
});

export function rawRoutes(deps: RawDeps) {
  const app = router();

  /** The stored message `id` when the caller may read it; else the 404 of a missing one. */
  const load = async (userId: string, idParam: string): Promise<StoredMsg> => {
    const id = messageId.safeParse(idParam);
    if (!id.success) throw new BrokerError("invalid_request", "the message id must be a positive integer (a stream sequence)");
    const notFound = () => new BrokerError("message_not_found", `message ${id.data} not found`);
    let m: StoredMsg | null;
    try {
      m = await deps.jsm.direct.getMessage(deps.config.STREAM_NAME, { seq: id.data });
    } catch (err) {
      if (isMessageNotFound(err) || isStreamNotFound(err)) throw notFound();
      throw err;
    }
    // A message the caller may not read gets the same answer as a missing one.
    if (!m || !mayReadStored(m.subject, userId, await readableEndpointIds(deps.db, userId))) throw notFound();
    return m;
  };

  declare(app, one, async (c) => {
    const userId = c.get("principal").userId;
    const q = c.req.valid("query");
    const m = await load(userId, c.req.valid("param").id);
    const body = renderMessage({ seq: m.seq, subject: m.subject, headers: m.header, data: m.data }, { base64: q.payload === "base64" });
    if (q.consumer === undefined) return c.body(body, 200, { "content-type": "application/json" });
    const row = await requireConsumer(deps.db, userId, q.consumer);
    const [info, dead] = await Promise.all([deps.consumers.info(row.durableName), findDeadLetter(deps.db, row.id, m.seq)]);
    const facts = info && {
      filterSubjects: info.config.filter_subjects ?? (info.config.filter_subject ? [info.config.filter_subject] : []),
      deliveredSeq: info.delivered.stream_seq,
      ackFloorSeq: info.ack_floor.stream_seq,
      numAckPending: info.num_ack_pending,
      numRedelivered: info.num_redelivered,
    };
    const state = {
      name: row.name,
      ...deliveryState(m.seq, m.subject, facts, dead),
      dead_letter: dead ? { reason: dead.reason, dead_at: dead.deadAt.toISOString(), redrive_id: dead.redriveSeq } : null,
    };
    return c.body(`${body.slice(0, -1)},"consumer":${JSON.stringify(state)}}`, 200, { "content-type": "application/json" });
  });

  declare(app, raw, async (c) => {
    const m = await load(c.get("principal").userId, c.req.valid("param").id);
    const headers = new Headers({
      "content-type": m.header.get(H.contentType) || "application/octet-stream",
      "x-wb-message-id": String(m.seq),
      "x-wb-webhook-path": `/webhook/${m.header.get(H.path).split("/").map(encodeURIComponent).join("/")}`,
      // The sender chose the content type: never let a browser run or sniff it.
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; sandbox",
      "cache-control": "private, no-store",
    });
    for (const [name, stored] of FACTS) headers.set(name, m.header.get(stored));
    if (m.header.get(H.redriveOf)) headers.set("X-Wb-Redrive-Of", m.header.get(H.redriveOf));
    for (const k of m.header.keys()) {
      if (isSenderHeader(k)) for (const v of m.header.values(k)) headers.append(`x-wb-header-${k}`, v);
    }
    return new Response(m.data as Uint8Array<ArrayBuffer>, { status: 200, headers });
  });

  return app;
}
