import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { connectAdmin, postGithub, startPrivateNats, startTestBroker, type PrivateNats, type TestBroker } from "@wb/test-support";
import { GroupCommitPublisher } from "../src/nats/group-commit.js";
import { checkGroupCommit } from "../src/gateway.js";
import { ConfigError } from "../src/config.js";

describe("GroupCommitPublisher on a real nats-server", () => {
  let nats: PrivateNats;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await startPrivateNats();
    nc = await connectAdmin(nats);
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.dispose();
  });

  async function stream(opts: { atomic: boolean }) {
    const name = `GC_${randomUUID().slice(0, 8)}`;
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name, subjects: [`${name}.>`], storage: StorageType.File, allow_atomic: opts.atomic });
    return { name, jsm, js: jetstream(nc) };
  }

  const publishAll = (p: GroupCommitPublisher, subject: string, ids: string[]) =>
    Promise.all(ids.map((id) => p.publish({ subject, body: new TextEncoder().encode(`body ${id}`), headers: headers(), msgID: id, timeout: 10_000 })));

  it("stores a burst in batches, and each answer names the sequence its own delivery was stored at", async () => {
    const s = await stream({ atomic: true });
    const p = new GroupCommitPublisher(nc, s.js, { stream: s.name, minBatch: 4 });
    const ids = Array.from({ length: 120 }, (_, i) => `d${i}`);
    const acks = await publishAll(p, `${s.name}.x`, ids);
    expect(p.stats.batches).toBeGreaterThan(0);
    expect(p.stats.fallbacks).toBe(0);
    expect(new Set(acks.map((a) => a.seq)).size).toBe(ids.length);
    for (const [i, ack] of acks.entries()) {
      const stored = await s.jsm.streams.getMessage(s.name, { seq: ack.seq });
      expect(stored?.header.get("Nats-Msg-Id")).toBe(ids[i]);
      expect(stored?.string()).toBe(`body ${ids[i]}`);
      expect(ack.duplicate).toBe(false);
    }
    expect((await s.jsm.streams.info(s.name)).state.messages).toBe(ids.length);
  });

  it("stores a delivery sent twice in one burst once: the duplicate is answered with the first copy's sequence", async () => {
    const s = await stream({ atomic: true });
    const p = new GroupCommitPublisher(nc, s.js, { stream: s.name, minBatch: 4 });
    const distinct = Array.from({ length: 30 }, (_, i) => `d${i}`);
    const acks = await publishAll(p, `${s.name}.x`, [...distinct, ...distinct]);
    for (let i = 0; i < distinct.length; i++) {
      expect(acks[i + distinct.length]!.seq).toBe(acks[i]!.seq);
      expect([acks[i]!.duplicate, acks[i + distinct.length]!.duplicate].sort()).toEqual([false, true]);
    }
    expect((await s.jsm.streams.info(s.name)).state.messages).toBe(distinct.length);
  });

  it("falls back to single publishes when the stream refuses atomic batches, and still stores everything once", async () => {
    const s = await stream({ atomic: false });
    const p = new GroupCommitPublisher(nc, s.js, { stream: s.name, minBatch: 4 });
    const ids = Array.from({ length: 40 }, (_, i) => `d${i}`);
    const acks = await publishAll(p, `${s.name}.x`, ids);
    expect(p.stats.fallbacks).toBeGreaterThan(0);
    expect(p.stats.batches).toBe(0);
    for (const [i, ack] of acks.entries()) {
      expect((await s.jsm.streams.getMessage(s.name, { seq: ack.seq }))?.header.get("Nats-Msg-Id")).toBe(ids[i]);
    }
    expect((await s.jsm.streams.info(s.name)).state.messages).toBe(ids.length);
  });
});

describe("GROUP_COMMIT needs a nats-server that syncs a batch once", () => {
  it("refuses servers before 2.15 and accepts 2.15 and later", () => {
    for (const v of ["2.10.27", "2.12.1", "2.14.5", undefined]) {
      expect(() => checkGroupCommit({ GROUP_COMMIT: "on" }, v)).toThrow(ConfigError);
    }
    for (const v of ["2.15.0", "2.15.1", "2.16.0-RC.1", "3.0.0"]) expect(() => checkGroupCommit({ GROUP_COMMIT: "on" }, v)).not.toThrow();
    expect(() => checkGroupCommit({ GROUP_COMMIT: "off" }, "2.10.27")).not.toThrow();
  });
});

describe("the gateway with GROUP_COMMIT=on", () => {
  let broker: TestBroker;
  beforeAll(async () => {
    // One single publish in flight and batches from 4: batches form even when a loaded test
    // machine delivers the requests slowly (the defaults need 20 waiting deliveries).
    broker = await startTestBroker({
      GROUP_COMMIT: "on",
      GROUP_COMMIT_MAX_SINGLES: "1",
      GROUP_COMMIT_MIN_BATCH: "4",
      RATE_LIMIT_PER_ENDPOINT: "off",
      RATE_LIMIT_PER_CLIENT: "off",
      PUBLISH_TIMEOUT: "3s",
    });
  });
  afterAll(() => broker?.close());

  /** Every delivery id stored in the stream, with how many copies; `batched` counts those stored by a batch. */
  async function storedDeliveries(): Promise<Map<string, number> & { batched?: number }> {
    const jsm = await jetstreamManager(await broker.admin());
    const name = broker.config.STREAM_NAME;
    const { state } = await jsm.streams.info(name);
    const out: Map<string, number> & { batched?: number } = new Map<string, number>();
    out.batched = 0;
    for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(name, { seq }).catch(() => null);
      const id = m?.header.get("x-github-delivery");
      if (id) out.set(id, (out.get(id) ?? 0) + 1);
      if (m?.header.get("Nats-Batch-Id")) out.batched++;
    }
    return out;
  }

  it("answers a concurrent burst with 202s whose ids are the stored copies of those deliveries", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const ids = Array.from({ length: 64 }, () => randomUUID());
    const answers = await Promise.all(ids.map((deliveryId) => postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret, deliveryId })));
    const jsm = await jetstreamManager(await broker.admin());
    let batched = 0;
    for (const [i, res] of answers.entries()) {
      expect(res.status).toBe(202);
      const { id } = await res.json();
      const stored = await jsm.streams.getMessage(broker.config.STREAM_NAME, { seq: id });
      expect(stored?.header.get("x-github-delivery")).toBe(ids[i]);
      if (stored?.header.get("Nats-Batch-Id")) batched++;
    }
    // The burst went (at least partly) through atomic batches, not only single publishes.
    expect(batched).toBeGreaterThan(0);
  });

  it("loses no 202'd delivery when nats-server is killed (SIGKILL) mid-ingest and restarted, and stores each once", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const ledger = new Map<string, number>();
    let stop = false;
    let sent = 0;
    const sender = async () => {
      while (!stop) {
        const deliveryId = `crash-${sent++}-${randomUUID()}`;
        const res = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret, deliveryId }).catch(() => undefined);
        ledger.set(deliveryId, res?.status ?? 0);
        await res?.body?.cancel();
      }
    };
    const senders = Array.from({ length: 24 }, sender);
    // Kill while writes are in flight: after some deliveries were accepted.
    await vi.waitFor(() => expect([...ledger.values()].filter((s) => s === 202).length).toBeGreaterThan(100), { timeout: 20_000, interval: 20 });
    await broker.nats.kill();
    await broker.nats.start();
    await broker.gatewaysConnected();
    // Accepted again after the restart, then stop.
    const before = [...ledger.values()].filter((s) => s === 202).length;
    await vi.waitFor(() => expect([...ledger.values()].filter((s) => s === 202).length).toBeGreaterThan(before + 50), { timeout: 20_000, interval: 20 });
    stop = true;
    await Promise.all(senders);

    const accepted = [...ledger].filter(([, s]) => s === 202).map(([id]) => id);
    const refused = [...ledger.values()].filter((s) => s !== 202);
    // Every refusal says "retry" (503), never a success that was not stored.
    expect(refused.every((s) => s === 503 || s === 0)).toBe(true);
    const stored = await storedDeliveries();
    const missing = accepted.filter((id) => !stored.has(id));
    expect(missing).toEqual([]);
    expect(stored.batched).toBeGreaterThan(0);
    expect([...stored.values()].every((n) => n === 1)).toBe(true);
  });
});
