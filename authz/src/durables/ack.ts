/**
 * Settling a delivery on a durable without holding the delivered message: the ack subject and
 * its payloads, written as the server writes and reads them.
 *
 * The subject is the reply subject the server put on the delivery, in its v1 (9-token) form:
 *
 *   $JS.ACK.<stream>.<durable>.<delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending>
 *
 * Source: nats-server `server/consumer.go` (`ackReply` writes it, `ackReplyInfo` parses it and
 * accepts 9 tokens, or 11+ for the v2 form `$JS.ACK.<domain>.<account hash>.<stream>.…`);
 * nats.js `jetstream/src/jsmsg.ts` `parseInfo` reads the same fields. The server subscribes to
 * `$JS.ACK.<stream>.<durable>.>` and uses the fields as follows:
 * - stream seq: which pending delivery is meant (every kind of settlement);
 * - consumer seq: a nak is ignored unless it lies in (ack floor, last delivered];
 * - delivered: reported as `deliveries` in the nak and terminated advisories (so in a dead
 *   letter recorded from a `term`), and picks the step of a `backoff` list on nak;
 * - timestamp and pending: not read when settling.
 */
import { nanos } from "@nats-io/transport-node";

export interface AckTarget {
  stream: string;
  durable: string;
  /** Stream sequence of the delivery (the message's id in the HTTP API). */
  streamSeq: number;
  /** Consumer sequence; needed for a nak (see above), 0 when settling otherwise. */
  consumerSeq?: number;
  /**
   * How often it was delivered, when known: the HTTP API knows it from an ack token (which
   * carries it), not from a bare message id; then 1 is sent, so a `term` by id is recorded
   * with delivery_count 1.
   */
  deliveryCount?: number;
}

/** The subject that settles one delivery of a durable (format above). */
export function ackSubject(t: AckTarget): string {
  for (const [name, n] of [["streamSeq", t.streamSeq], ["consumerSeq", t.consumerSeq ?? 0], ["deliveryCount", t.deliveryCount ?? 1]] as const) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
  }
  if (!/^[^.*>\s]+$/.test(t.stream) || !/^[^.*>\s]+$/.test(t.durable)) throw new RangeError("stream and durable must be single subject tokens");
  return `$JS.ACK.${t.stream}.${t.durable}.${t.deliveryCount ?? 1}.${t.streamSeq}.${t.consumerSeq ?? 0}.0.0`;
}

export type Settlement = "ack" | "nak" | "in_progress" | "term";

/** The payload of each settlement, as nats.js's JsMsg sends it (`+ACK`, `-NAK {"delay":ns}`, `+WPI`, `+TERM`). */
export function ackPayload(kind: Settlement, nakDelayMs?: number): string {
  switch (kind) {
    case "ack":
      return "+ACK";
    case "nak":
      return nakDelayMs ? `-NAK ${JSON.stringify({ delay: nanos(nakDelayMs) })}` : "-NAK";
    case "in_progress":
      return "+WPI";
    case "term":
      return "+TERM";
  }
}
