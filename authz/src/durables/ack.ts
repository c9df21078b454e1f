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

/** What an ack (reply) subject says about one delivery. */
export interface AckReply {
  deliveryCount: number;
  streamSeq: number;
  consumerSeq: number;
  /** Messages the consumer had not yet delivered when this one went out. */
  pending: number;
}

/** Reads an ack subject in either form above; undefined when it is not one. */
export function parseAckReply(subject: string): AckReply | undefined {
  const t = subject.split(".");
  if (t[0] !== "$JS" || t[1] !== "ACK") return undefined;
  // v1: 9 tokens; v2 (11 or more) adds domain and account hash after $JS.ACK.
  const at = t.length === 9 ? 4 : t.length >= 11 ? 6 : -1;
  if (at < 0) return undefined;
  const [deliveryCount, streamSeq, consumerSeq, , pending] = t.slice(at, at + 5).map(Number) as number[];
  const ok = [deliveryCount, streamSeq, consumerSeq, pending].every((n) => Number.isSafeInteger(n) && n! >= 0);
  return ok && streamSeq! > 0 ? { deliveryCount: deliveryCount!, streamSeq: streamSeq!, consumerSeq: consumerSeq!, pending: pending! } : undefined;
}

/** A settlement seen on the wire: which delivery, and what was done to it. */
export interface SeenSettlement {
  streamSeq: number;
  /** Undefined for payloads that do not settle (`+NXT`). */
  kind: Settlement | undefined;
}

/**
 * Reads a settlement published on an ack subject with its payload, as the server reads it:
 * the inverse of {@link ackSubject} and {@link ackPayload}. Undefined when the subject is not
 * an ack subject. Lets a reader that shares a durable with others (an SSE stream) see
 * settlements made over HTTP or NATS, from any gateway.
 */
export function parseSettlement(subject: string, payload: string): SeenSettlement | undefined {
  const reply = parseAckReply(subject);
  if (!reply) return undefined;
  const verb = payload.trimStart().slice(0, 5);
  const kind: Settlement | undefined =
    payload === "" || verb.startsWith("+ACK") ? "ack" : verb.startsWith("+TERM") ? "term" : verb.startsWith("-NAK") ? "nak" : verb.startsWith("+WPI") ? "in_progress" : undefined;
  return { streamSeq: reply.streamSeq, kind };
}
