/**
 * "Everything a durable has for me right now, up to n": one JetStream pull request with
 * `no_wait`, which the server answers at once with what is deliverable (redeliveries that are
 * due as well as new messages) and a status message when it has no more. nats.js's `fetch`
 * cannot send `no_wait`; its `pending` count covers new messages only, so a page built from it
 * returned due redeliveries one per pull (issue 14).
 */
import { createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { ackPayload, parseAckReply } from "@wb/authz";
import { headersOf, type StoredHeaders } from "./stored-headers.js";

/** What the pull path needs of a delivered message (nats.js's JsMsg has the same shape). */
export interface Delivery {
  seq: number;
  subject: string;
  headers?: StoredHeaders;
  data: Uint8Array;
  info: { deliveryCount: number; pending: number };
  ack(): void;
  nak(): void;
  term(): void;
}

export async function takeWaiting(
  nc: NatsConnection,
  target: { stream: string; durable: string; apiPrefix?: string },
  max: number,
  timeoutMs: number,
): Promise<Delivery[]> {
  // The connection's own (private) inbox prefix: a shared one would leak the messages (NATS-FACTS).
  const inbox = createInbox((nc as unknown as { options?: { inboxPrefix?: string } }).options?.inboxPrefix);
  const got: Delivery[] = [];
  const sub = nc.subscribe(inbox, { timeout: timeoutMs });
  nc.publish(`${target.apiPrefix ?? "$JS.API"}.CONSUMER.MSG.NEXT.${target.stream}.${target.durable}`, JSON.stringify({ batch: max, no_wait: true }), { reply: inbox });
  try {
    for await (const m of sub) {
      // A status (404 no messages, 408, 409) ends the answer; a message carries its ack subject.
      const d = m.reply ? delivery(nc, m) : undefined;
      if (!d) break;
      got.push(d);
      if (got.length === max) break;
    }
  } catch (err) {
    // Timed out: the server did not finish its answer in time; what arrived is kept.
    if (got.length === 0) throw err;
  } finally {
    sub.unsubscribe();
  }
  return got;
}

function delivery(nc: NatsConnection, m: Msg): Delivery | undefined {
  const info = parseAckReply(m.reply!);
  if (!info) return undefined;
  const reply = m.reply!;
  return {
    seq: info.streamSeq,
    subject: m.subject,
    headers: headersOf(m),
    data: m.data,
    info: { deliveryCount: info.deliveryCount, pending: info.pending },
    ack: () => nc.publish(reply, ackPayload("ack")),
    nak: () => nc.publish(reply, ackPayload("nak")),
    term: () => nc.publish(reply, ackPayload("term")),
  };
}
