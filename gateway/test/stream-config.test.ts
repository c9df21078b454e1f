/**
 * ensureStream (gateway/src/nats/stream.ts) against a real nats-server: create when missing,
 * leave alone when unchanged, update limits in place (keeping messages and settings it does
 * not own), and refuse to start over a change JetStream will not make.
 */
import { randomBytes } from "node:crypto";
import { jetstream, jetstreamManager, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig, type Config } from "../src/config.js";
import { ensureStream } from "../src/nats/stream.js";
import { connectAdmin, startPrivateNats, type PrivateNats } from "@wb/test-support";

let nats: PrivateNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
beforeAll(async () => {
  // Its own server: every broker stream takes `wh.>`, so two cannot share one.
  nats = await startPrivateNats();
  nc = await connectAdmin(nats);
  // 1,000 consumer creations in rounds of 100 (one fsynced state file each): under a loaded CI
  // machine a round can outlast the client's default 5 s request timeout.
  jsm = await jetstreamManager(nc, { timeout: 30_000 });
});
afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

const name = `S_${randomBytes(4).toString("hex").toUpperCase()}`;
afterEach(async () => {
  vi.restoreAllMocks();
  await jsm.streams.delete(name).catch(() => {});
});

const config = (env: Record<string, string> = {}): Config =>
  loadConfig({ NATS_URL: nats.url, DATABASE_URL: "postgres://unused", SECRET_KEY: randomBytes(32).toString("base64"), STREAM_NAME: name, ...env });

describe("retention settings JetStream would refuse", () => {
  it("STREAM_MAX_AGE below the duplicate window: JetStream refuses the stream, the config schema says so first", async () => {
    // What used to happen at start: a raw JetStream error.
    await expect(jsm.streams.add({ name, subjects: [`${name}.>`], max_age: nanos(20_000), duplicate_window: nanos(86_400_000) })).rejects.toThrow(/duplicates window/i);
    expect(() => config({ STREAM_MAX_AGE: "20s" })).toThrow(/DUPLICATE_WINDOW must not be longer than STREAM_MAX_AGE/);
    // Both lowered together is fine, and JetStream takes it.
    await ensureStream(jsm, config({ STREAM_MAX_AGE: "20s", DUPLICATE_WINDOW: "10s" }));
    expect((await jsm.streams.info(name)).config.duplicate_window).toBe(nanos(10_000));
  });
});

describe("ensureStream", () => {
  it("creates a missing stream with the configured limits, refusing new messages when full", async () => {
    await ensureStream(jsm, config({ STREAM_MAX_AGE: "2d", STREAM_MAX_BYTES: "1MiB", DUPLICATE_WINDOW: "5m" }));
    const { config: c } = await jsm.streams.info(name);
    expect(c).toMatchObject({
      subjects: ["wh.>"],
      storage: "file",
      retention: "limits",
      discard: "new",
      max_age: nanos(2 * 86_400_000),
      max_bytes: 1024 ** 2,
      duplicate_window: nanos(300_000),
      num_replicas: 1,
      allow_direct: true,
    });
  });

  it("leaves an unchanged stream alone (no update call)", async () => {
    await ensureStream(jsm, config());
    const update = vi.spyOn(jsm.streams, "update");
    await ensureStream(jsm, config());
    expect(update).not.toHaveBeenCalled();
  });

  it("updates changed limits in place: stored messages and settings it does not own stay", async () => {
    await ensureStream(jsm, config());
    await jsm.streams.update(name, { description: "set by an operator", max_msgs_per_subject: 5 });
    await jetstream(nc).publish("wh.x.push.a", "kept");
    const update = vi.spyOn(jsm.streams, "update");
    await ensureStream(jsm, config({ STREAM_MAX_AGE: "1d", STREAM_MAX_BYTES: "2MiB", DUPLICATE_WINDOW: "1m" }));
    expect(update).toHaveBeenCalledTimes(1);
    const info = await jsm.streams.info(name);
    expect(info.config).toMatchObject({
      max_age: nanos(86_400_000),
      max_bytes: 2 * 1024 ** 2,
      duplicate_window: nanos(60_000),
      description: "set by an operator",
      max_msgs_per_subject: 5,
    });
    expect(info.state.messages).toBe(1);
  });

  it("holds more durables than nats-server 2.15's default of 1,000 per stream, also after an update", async () => {
    const addConsumers = async (stream: string, n: number) => {
      for (let i = 0; i < n; i += 100) {
        await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, k) => jsm.consumers.add(stream, { durable_name: `d${i + k}` })));
      }
    };
    // The server's default, on a stream that sets no limit of its own (as the broker's did).
    await jsm.streams.add({ name, subjects: ["wh.>"], storage: StorageType.File });
    await addConsumers(name, 1000);
    await expect(jsm.consumers.add(name, { durable_name: "one_more" })).rejects.toThrow(/maximum consumers/i);
    // ensureStream brings that stream to the configured limit in place.
    await ensureStream(jsm, config());
    expect((await jsm.streams.info(name)).config.max_consumers).toBe(100_000);
    await expect(jsm.consumers.add(name, { durable_name: "one_more" })).resolves.toBeDefined();
  });

  it("fails, naming the server's reason, when the change is one JetStream refuses", async () => {
    // Storage cannot change in place: starting over it must fail loudly, not run on the old one.
    await jsm.streams.add({ name, subjects: ["wh.>"], storage: StorageType.Memory });
    await expect(ensureStream(jsm, config())).rejects.toThrow(/storage type/i);
    expect((await jsm.streams.info(name)).config.storage).toBe("memory");
  });
});
