import { randomUUID } from "node:crypto";
import { DiscardPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { connectAdmin, sharedNats } from "@wb/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLeaderUnavailable, isStorageFull } from "./publish-errors.js";

let nc: NatsConnection;
beforeAll(async () => {
  nc = await connectAdmin(sharedNats());
});
afterAll(async () => {
  await nc?.close();
});

describe("what a failed JetStream publish means", () => {
  it("nobody takes the subject (a stream between leaders): sent again while time is left", async () => {
    const err = await jetstream(nc)
      .publish(`nostream-${randomUUID()}.x`, "x", { timeout: 2_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(isLeaderUnavailable(err)).toBe(true);
    expect(isStorageFull(err)).toBe(false);
  });

  it("a full stream is not retried: its answer is the stream's, at once", async () => {
    const name = `FULL_${randomUUID().replaceAll("-", "")}`;
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name, subjects: [`${name}.>`], max_msgs: 1, discard: DiscardPolicy.New });
    try {
      const js = jetstream(nc);
      await js.publish(`${name}.a`, "1");
      const err = await js.publish(`${name}.b`, "2").catch((e: unknown) => e);
      expect(isStorageFull(err)).toBe(true);
      expect(isLeaderUnavailable(err)).toBe(false);
    } finally {
      await jsm.streams.delete(name);
    }
  });

  it("other failures are not the stream's leader", () => {
    expect(isLeaderUnavailable(new Error("boom"))).toBe(false);
    expect(isLeaderUnavailable(undefined)).toBe(false);
  });
});
