import { randomUUID } from "node:crypto";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { deliverySubject } from "@wb/authz";
import { connectAdmin, startPrivateNats, type PrivateNats } from "@wb/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lookup, lookupMany } from "./deliveries.js";

describe("lookupMany", () => {
  let server: PrivateNats;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const stream = "LOOKUP";
  const a = randomUUID();
  const b = randomUUID();
  /** Endpoint by sequence, as stored (seq 5 deleted below). */
  const stored = new Map<number, string>();
  beforeAll(async () => {
    server = await startPrivateNats();
    nc = await connectAdmin(server);
    jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: ["wh.>"], allow_direct: true });
    const js = jsm.jetstream();
    for (let i = 0; i < 12; i++) {
      const endpoint = i % 3 === 2 ? b : a;
      const ack = await js.publish(deliverySubject(endpoint, "push", ["repo", `n${i}`]), "{}");
      stored.set(ack.seq, endpoint);
    }
    await jsm.streams.deleteMessage(stream, 5);
    stored.delete(5);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  /** What one lookup per id answers. */
  const oneByOne = async (seqs: number[]) => {
    const out = new Map<number, string>();
    for (const seq of seqs) {
      const e = await lookup(jsm, stream, seq);
      if (e !== undefined) out.set(seq, e);
    }
    return out;
  };

  it("answers as one lookup per id does: dense pages (one batch), gaps, deleted, unknown and sparse ids", async () => {
    for (const seqs of [[1, 2, 3, 4], [2, 4, 6, 7, 8], [4, 5, 6], [11, 12, 13, 14], [1, 12], [3], [100, 101], [12, 11, 10]]) {
      const got = await lookupMany(jsm, stream, seqs);
      expect(got, JSON.stringify(seqs)).toEqual(await oneByOne(seqs));
      for (const seq of seqs) expect(got.get(seq), `${seq}`).toBe(stored.get(seq));
    }
    expect(await lookupMany(jsm, stream, [])).toEqual(new Map());
  });

  it("reads a dense page with one request, a sparse one with one request per id", async () => {
    // Every direct get request, seen by a plain subscriber beside the stream's own responder.
    let requests = 0;
    const sub = nc.subscribe(`$JS.API.DIRECT.GET.${stream}`, {
      callback: () => {
        requests++;
      },
    });
    await nc.flush();
    const count = async (seqs: number[]) => {
      requests = 0;
      await lookupMany(jsm, stream, seqs);
      await nc.flush();
      return requests;
    };
    expect(await count([1, 2, 3, 4, 6, 7, 8, 9, 10])).toBe(1);
    expect(await count([1, 12])).toBe(2);
    sub.unsubscribe();
  });
});
