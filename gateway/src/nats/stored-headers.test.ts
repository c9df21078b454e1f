import { connectAdmin, startPrivateNats, type PrivateNats } from "@wb/test-support";
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headersOf, parseHeaderBlock, type StoredHeaders } from "./stored-headers.js";

/** What a reader sees of the headers: every key, its first value and all its values. */
const view = (h: StoredHeaders | MsgHdrs | undefined) => h?.keys().map((k) => [k, h.get(k), h.values(k)]);

const sample = () => {
  const h = natsHeaders();
  h.append("Wb-Event", "push");
  h.append("X-GitHub-Event", "push");
  h.append("x-forwarded-for", "10.0.0.1");
  h.append("x-forwarded-for", " 10.0.0.2 ");
  h.append("X-Forwarded-For", "10.0.0.3"); // another key: nats.js matches exactly
  h.append("User-Agent", "GitHub-Hookshot/1 (ü: a:b)");
  h.append("Empty", "");
  return h;
};

describe("parseHeaderBlock", () => {
  it("reads a block as nats.js's decoder does: keys as written, values trimmed, repeats kept in order", () => {
    const h = sample();
    const raw = (h as unknown as { encode(): Uint8Array }).encode();
    const ours = parseHeaderBlock(raw);
    expect(view(ours)).toEqual(view(h));
    expect(ours.get("x-forwarded-for")).toBe("10.0.0.1");
    expect(ours.values("x-forwarded-for")).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(ours.get("X-FORWARDED-FOR")).toBe("");
    expect(ours.values("missing")).toEqual([]);
  });
});

describe("headersOf", () => {
  let server: PrivateNats;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startPrivateNats();
    nc = await connectAdmin(server);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  it("gives a received message's headers as nats.js does, from the raw block (not nats.js's decoder)", async () => {
    const got: Msg[] = [];
    const sub = nc.subscribe("hdr.test", { max: 2, callback: (_, m) => {
        got.push(m);
      },
    });
    nc.publish("hdr.test", "{}", { headers: sample() });
    nc.publish("hdr.test", "no headers");
    await nc.flush();
    await expect.poll(() => got.length).toBe(2);
    sub.unsubscribe();
    const [withHeaders, without] = got as [Msg, Msg];
    const ours = headersOf(withHeaders);
    // Parsed here, not by nats.js: if a nats.js upgrade renames its internals, this says so
    // (headersOf then falls back to m.headers, correct but slower).
    expect(ours).not.toBe(withHeaders.headers);
    expect(view(ours)).toEqual(view(withHeaders.headers));
    expect(headersOf(without)).toBeUndefined();
    expect(without.headers).toBeUndefined();
  });
});
