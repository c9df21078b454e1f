import type { NatsConnection } from "@nats-io/transport-node";

/** Which server connection the client is on: a reconnect changes it. */
function connectionOf(nc: NatsConnection): string {
  return `${nc.info?.server_id ?? "?"}/${nc.info?.client_id ?? "?"}`;
}

/**
 * Settles several deliveries of ONE durable with one round trip: every settlement but the last
 * is published, the last is a request (nats.js `ackAck()`), and its reply confirms them all.
 *
 * Why one reply covers the others: nats-server queues a consumer's acks in arrival order (one
 * queue per consumer, `ackMsgs`), applies them one by one on the consumer's goroutine, and
 * sends an ack's reply only after applying it (for a replicated consumer, after the ack went
 * through Raft, in proposal order) — `processInboundAcks` / `processAck` / `updateAcks` in
 * nats-server's `server/consumer.go`. On one connection the server receives the messages in
 * the order they were written, so the last one's reply means every earlier one was applied.
 * That holds only on one connection: if the client reconnected in between, an earlier
 * settlement may have died with the old socket while the last went out on the new one, so a
 * change of connection counts as no confirmation.
 *
 * Resolves true when confirmed; false when the reply did not come in time or the connection
 * changed (the caller answers "send it again": settling twice is harmless).
 */
export async function settleConfirmed(nc: NatsConnection, subjects: readonly string[], payload: string, timeoutMs: number): Promise<boolean> {
  if (subjects.length === 0) return true;
  const before = connectionOf(nc);
  const last = subjects.length - 1;
  for (let i = 0; i < last; i++) nc.publish(subjects[i]!, payload);
  try {
    await nc.request(subjects[last]!, payload, { timeout: timeoutMs });
  } catch {
    return false;
  }
  return connectionOf(nc) === before;
}
