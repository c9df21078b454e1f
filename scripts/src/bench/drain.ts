/** Draining stored messages: through the broker's HTTP pull + ack, and straight from JetStream. */
import type { Agent } from "node:http";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { httpRequest } from "./http.js";

export interface DrainResult {
  messages: number;
  seconds: number;
  rate: number;
  /** Requests (HTTP) or fetches (raw) that took part. */
  batches: number;
}

/**
 * Pulls `count` messages with `GET /api/v1/messages?limit=<batch>` and acks each batch with
 * `POST /api/v1/messages/ack`, one request at a time, as a single reader would.
 */
export async function httpDrain(
  agent: Agent,
  baseUrl: string,
  token: string,
  count: number,
  opts: { batch?: number; consumer?: string; ackBy?: "ids" | "tokens" } = {},
): Promise<DrainResult> {
  const batch = opts.batch ?? 100;
  const consumer = opts.consumer ?? "default";
  const auth = { authorization: `Bearer ${token}` };
  let got = 0;
  let batches = 0;
  let empty = 0;
  const t0 = performance.now();
  while (got < count) {
    const res = await httpRequest(agent, "GET", `${baseUrl}/api/v1/messages?limit=${Math.min(batch, count - got)}&wait=1s&consumer=${consumer}`, auth);
    if (res.status !== 200) throw new Error(`GET /api/v1/messages: ${res.status} ${res.body.toString().slice(0, 300)}`);
    const messages = (JSON.parse(res.body.toString()) as { messages: { id: number; ack_token: string }[] }).messages;
    const ids = messages.map((m) => m.id);
    batches++;
    if (ids.length === 0) {
      if (++empty >= 3) break;
      continue;
    }
    const ack = await httpRequest(agent, "POST", `${baseUrl}/api/v1/messages/ack`, { ...auth, "content-type": "application/json" }, JSON.stringify(opts.ackBy === "tokens" ? { ack_tokens: messages.map((m) => m.ack_token), consumer } : { message_ids: ids, consumer }));
    if (ack.status !== 200) throw new Error(`POST /api/v1/messages/ack: ${ack.status} ${ack.body.toString().slice(0, 300)}`);
    got += ids.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { messages: got, seconds, rate: got / seconds, batches };
}

/**
 * The same amount through a JetStream durable pull consumer directly: fetch batches of
 * `batch`, ack every message, flush once per batch (as the broker's ack route does).
 */
export async function rawDrain(nc: NatsConnection, js: JetStreamClient, stream: string, durable: string, count: number, batch = 100): Promise<DrainResult> {
  const consumer = await js.consumers.get(stream, durable);
  let got = 0;
  let batches = 0;
  let empty = 0;
  const t0 = performance.now();
  while (got < count) {
    const iter = await consumer.fetch({ max_messages: Math.min(batch, count - got), expires: 1000 });
    let n = 0;
    for await (const m of iter) {
      m.ack();
      n++;
    }
    await nc.flush();
    batches++;
    if (n === 0 && ++empty >= 3) break;
    got += n;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { messages: got, seconds, rate: got / seconds, batches };
}
