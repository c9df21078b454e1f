import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AckPolicy, jetstream, jetstreamManager, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { ackPayload, ackSubject } from "@wb/authz";
import { connectAdmin, startPrivateNats, type PrivateNats } from "@wb/test-support";
import { settleConfirmed } from "../src/nats/confirmed-acks.js";

let nats: PrivateNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
beforeAll(async () => {
  nats = await startPrivateNats();
  nc = await connectAdmin(nats, { maxReconnectAttempts: -1, reconnectTimeWait: 50 });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

/** A stream with `n` messages and a durable that has been handed all of them (none acked). */
async function delivered(n: number) {
  const stream = `CA_${randomUUID().slice(0, 8)}`;
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], storage: StorageType.File });
  const js = jetstream(nc);
  for (let i = 0; i < n; i++) await js.publish(`${stream}.x`, `m${i}`);
  await jsm.consumers.add(stream, { durable_name: "d", ack_policy: AckPolicy.Explicit, max_ack_pending: 10_000 });
  const seqs: number[] = [];
  const batch = await (await js.consumers.get(stream, "d")).fetch({ max_messages: n, expires: 2000 });
  for await (const m of batch) seqs.push(m.seq);
  expect(seqs).toHaveLength(n);
  return { stream, seqs, subjects: seqs.map((streamSeq) => ackSubject({ stream, durable: "d", streamSeq })) };
}

it("confirms a page of acks with one reply, after which the server has applied every one of them", async () => {
  const { stream, subjects } = await delivered(300);
  const before = await jsm.consumers.info(stream, "d");
  expect(before.num_ack_pending).toBe(300);
  expect(await settleConfirmed(nc, subjects, ackPayload("ack"), 5000)).toBe(true);
  // Read at once, no waiting: the one reply already means all 300 were applied.
  const after = await jsm.consumers.info(stream, "d");
  expect(after.num_ack_pending).toBe(0);
  expect(after.ack_floor.stream_seq).toBe(300);
});

it("leaves what the page did not name pending", async () => {
  const { stream, subjects } = await delivered(10);
  expect(await settleConfirmed(nc, subjects.slice(0, 7), ackPayload("ack"), 5000)).toBe(true);
  expect((await jsm.consumers.info(stream, "d")).num_ack_pending).toBe(3);
});

it("does not confirm while the server is down", async () => {
  const { subjects } = await delivered(5);
  await nats.kill();
  try {
    expect(await settleConfirmed(nc, subjects, ackPayload("ack"), 1000)).toBe(false);
  } finally {
    await nats.start();
  }
});
