/**
 * One cursor, three transports: a reader moves between HTTP pull, the SSE stream and a direct
 * NATS client (through the real auth callout) on the same durable, with one ack state. Every
 * delivery is seen exactly once, except one left unacked on purpose, which comes back once.
 */
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ack, bearer, deliverGithub, expectAllAcked, openStream, pull, startTestBroker, type TestBroker } from "@wb/test-support";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ ACK_WAIT: "2s" }, { callout: true });
});
afterAll(() => broker?.close());

it("moves a reader between HTTP pull, SSE and NATS on one durable: every delivery once after acks", async () => {
  const u = await broker.user();
  const ep = await broker.endpoint({ userId: u.id });
  const sent: number[] = [];
  for (let i = 0; i < 9; i++) sent.push(await deliverGithub(broker.url, ep));
  const seen: { id: number; via: string; count: number }[] = [];

  // 1. HTTP pull, acked by token.
  const page = await pull(broker.url, u.token, "limit=3&wait=2s");
  for (const m of page.body.messages) seen.push({ id: m.id, via: "pull", count: m.delivery_count });
  expect((await ack(broker.url, u.token, [], { ack_tokens: page.body.messages.map((m: any) => m.ack_token) })).status).toBe(200);

  // 2. SSE, acked by token through the settle endpoint.
  const s = await openStream(broker.url, u.token, "max_in_flight=3");
  const tokens: string[] = [];
  for (let i = 0; i < 3; i++) {
    const m = JSON.parse((await s.nextEvent()).data);
    seen.push({ id: m.id, via: "sse", count: m.delivery_count });
    tokens.push(m.ack_token);
  }
  expect((await ack(broker.url, u.token, [], { ack_tokens: tokens })).status).toBe(200);
  s.close();

  // 3. NATS with the API token: two acked, the third left unacked (a reader that crashed).
  const meRes = await fetch(`${broker.url}/api/v1/me`, { headers: bearer(u.token) });
  const me = (await meRes.json()) as { nats: { stream: string; api_prefix: string; inbox_prefix: string; consumers: { name: string; durable_name: string }[] } };
  const nc = await connect({ servers: broker.nats.url, token: u.token, inboxPrefix: me.nats.inbox_prefix, maxReconnectAttempts: 0 });
  const durable = me.nats.consumers.find((c) => c.name === "default")!.durable_name;
  const consumer = await jetstream(nc, { apiPrefix: me.nats.api_prefix }).consumers.get(me.nats.stream, durable);
  const batch = await consumer.fetch({ max_messages: 3, expires: 5_000 });
  const viaNats = [];
  for await (const m of batch) viaNats.push(m);
  expect(viaNats).toHaveLength(3);
  for (const m of viaNats) seen.push({ id: m.seq, via: "nats", count: m.info.deliveryCount });
  await viaNats[0]!.ackAck();
  await viaNats[1]!.ackAck();
  const dropped = viaNats[2]!.seq;
  // The SSE stream may have taken these before it closed (its window freed by the acks) and
  // handed them back unseen: JetStream counts such deliveries too.
  const droppedCount = viaNats[2]!.info.deliveryCount;
  await nc.close();

  // 4. Back to SSE: after the ack wait the dropped one comes back, then nothing else.
  const s2 = await openStream(broker.url, u.token, "heartbeat=1s");
  const back = JSON.parse((await s2.nextEvent(10_000)).data);
  seen.push({ id: back.id, via: "sse", count: back.delivery_count });
  expect(back).toMatchObject({ id: dropped, delivery_count: droppedCount + 1 });
  expect((await ack(broker.url, u.token, [], { ack_tokens: [back.ack_token] })).status).toBe(200);
  // And new deliveries continue on the same cursor.
  const late = await deliverGithub(broker.url, ep);
  const next = JSON.parse((await s2.nextEvent()).data);
  seen.push({ id: next.id, via: "sse", count: next.delivery_count });
  expect((await ack(broker.url, u.token, [], { ack_tokens: [next.ack_token] })).status).toBe(200);
  s2.close();

  // Every delivery once, in stream order across transports; the dropped one twice.
  expect(seen.map((x) => x.id)).toEqual([...sent, dropped, late]);
  expect(seen.slice(0, 6).every((x) => x.count === 1)).toBe(true);
  expect(seen.map((x) => x.via)).toEqual(["pull", "pull", "pull", "sse", "sse", "sse", "nats", "nats", "nats", "sse", "sse"]);
  // 5. Nothing left for any transport.
  await expectAllAcked(broker.url, u.token);
  expect((await pull(broker.url, u.token, "wait=1s")).body.messages).toEqual([]);
});
