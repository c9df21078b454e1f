import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ack, bearer, callApi, deliverGithub, expectAllAcked, openStream, pull, startTestBroker, type SseReader, type TestBroker } from "@wb/test-support";

let broker: TestBroker;

// A short ack wait so that "comes back after the ack wait" is observable within a test.
beforeAll(async () => {
  broker = await startTestBroker({ ACK_WAIT: "2s" });
});
afterAll(() => broker?.close());

const deliver = (ep: { path: string; secret: string }, body?: string) => deliverGithub(broker.url, ep, body === undefined ? {} : { body });

/** The next `n` message events, parsed. */
async function take(s: SseReader, n: number): Promise<any[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const e = await s.nextEvent();
    expect(e.event).toBe("message");
    const m = JSON.parse(e.data);
    expect(e.id).toBe(String(m.id));
    out.push(m);
  }
  return out;
}

const consumerState = async (token: string, name = "default") => {
  const { body } = await callApi(broker.url, token, "GET", `/consumers/${name}`);
  return { pending: body.pending, ack_pending: body.ack_pending };
};

describe("GET /api/v1/messages/stream", () => {
  it("streams deliveries as events whose id is the stream sequence; ack tokens settle them", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const a = await deliver(ep);
    const s = await openStream(broker.url, u.token);
    expect(s.status).toBe(200);
    expect(s.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(await s.nextItem()).toEqual({ type: "retry", ms: 2000 });
    const [first] = await take(s, 1);
    expect(first).toMatchObject({ id: a, event: "push", verified: true, delivery_count: 1, ack_token: expect.any(String) });
    // Live: a delivery made while the stream is open arrives without a reconnect.
    const b = await deliver(ep);
    const [second] = await take(s, 1);
    expect(second.id).toBe(b);
    expect((await ack(broker.url, u.token, [], { ack_tokens: [first.ack_token, second.ack_token] })).body).toEqual({ acked: [a, b] });
    await expectAllAcked(broker.url, u.token);
    s.close();
  });

  it("sends heartbeat comments while idle", async () => {
    const u = await broker.user();
    const s = await openStream(broker.url, u.token, "heartbeat=1s");
    const kinds: string[] = [];
    for (let i = 0; i < 3; i++) kinds.push((await s.nextItem(5_000)).type);
    expect(kinds).toEqual(["retry", "comment", "comment"]); // "connected", then a heartbeat
    s.close();
  });

  it("ack=auto acks each event once written: nothing stays pending", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const sent = [await deliver(ep), await deliver(ep), await deliver(ep)];
    const s = await openStream(broker.url, u.token, "ack=auto");
    const got = await take(s, 3);
    expect(got.map((m) => m.id)).toEqual(sent);
    expect(got[0].ack_token).toBeUndefined(); // nothing to settle
    await expectAllAcked(broker.url, u.token);
    s.close();
  });

  it("holds at most max_in_flight unsettled events; a settlement lets the next one through", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await deliver(ep));
    const s = await openStream(broker.url, u.token, "max_in_flight=2&heartbeat=1s");
    const firstTwo = await take(s, 2);
    expect(firstTwo.map((m) => m.id)).toEqual(sent.slice(0, 2));
    // Idle with three waiting: the server took no more than two from the durable.
    expect((await s.nextItem(5_000)).type).toBe("comment"); // a heartbeat, not a third event
    expect(await consumerState(u.token)).toEqual({ pending: 3, ack_pending: 2 });
    // Settled over HTTP (this gateway or any other): the stream sees it and sends the next.
    await ack(broker.url, u.token, [sent[0]]);
    expect((await take(s, 1))[0].id).toBe(sent[2]);
    s.close();
  });

  it("respects the socket: a client that does not read holds the stream at max_in_flight", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    // 24 deliveries of ~1 MB: more than the loopback socket buffers hold.
    const body = JSON.stringify({ pad: "x".repeat(1_000_000) });
    for (let i = 0; i < 24; i++) await deliver(ep, body);
    const res = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${broker.url}/api/v1/messages/stream?ack=auto&max_in_flight=3`, { headers: bearer(u.token) }, resolve);
      req.on("error", reject);
      req.end();
    });
    expect(res.statusCode).toBe(200);
    res.pause(); // never read
    // The server stops once the socket is full: the durable still holds most of them.
    let last = await consumerState(u.token);
    await expect
      .poll(
        async () => {
          const now = await consumerState(u.token);
          const settled = now.pending === last.pending;
          last = now;
          return settled;
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe(true);
    expect(last.ack_pending).toBeLessThanOrEqual(3);
    expect(last.pending).toBeGreaterThan(10);
    res.destroy();
    // Gone: what it held unwritten is handed back at once (not after the 2 s ack wait), and
    // what the durable never gave it is there too.
    const started = Date.now();
    expect((await pull(broker.url, u.token, "limit=1&wait=1s")).body.messages).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1_900);
    const rest = await pull(broker.url, u.token, "limit=50&wait=1s");
    // Nothing lost: all it never took, plus the few it held (one may have been written and acked since).
    expect(1 + rest.body.messages.length).toBeGreaterThanOrEqual(last.pending);
    expect(1 + rest.body.messages.length).toBeLessThanOrEqual(last.pending + last.ack_pending);
  });

  it("a reconnect with Last-Event-ID resumes exactly after it", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await deliver(ep));
    const s1 = await openStream(broker.url, u.token);
    const seen = await take(s1, 3);
    expect(seen.map((m) => m.id)).toEqual(sent.slice(0, 3));
    // Settled 1 and 2; the client drops with 3 seen but its ack not yet sent (4 and 5 may be on the wire).
    await ack(broker.url, u.token, [], { ack_tokens: [seen[0].ack_token, seen[1].ack_token] });
    s1.close();

    const s2 = await openStream(broker.url, u.token, "", { "last-event-id": String(sent[2]) });
    await ack(broker.url, u.token, [], { ack_tokens: [seen[2].ack_token] }); // the late ack, with the old token
    const rest = await take(s2, 2);
    expect(rest.map((m) => m.id)).toEqual(sent.slice(3));
    // after_id= is the same for clients that cannot set headers; a new delivery follows.
    const f = await deliver(ep);
    expect((await take(s2, 1))[0].id).toBe(f);
    await ack(broker.url, u.token, [...rest.map((m) => m.id), f]);
    await expectAllAcked(broker.url, u.token);
    s2.close();
  });

  it("an event held back at a resume comes again if it is still unsettled after the ack wait", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const a = await deliver(ep);
    const s1 = await openStream(broker.url, u.token);
    await take(s1, 1);
    s1.close();
    const s2 = await openStream(broker.url, u.token, `after_id=${a}`);
    const [again] = await take(s2, 1);
    expect(again.id).toBe(a);
    expect(again.delivery_count).toBeGreaterThanOrEqual(3); // sent, handed back at the drop, held back once, sent again
    s2.close();
  });

  it("hands back what it holds when the client goes away", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const a = await deliver(ep);
    const s = await openStream(broker.url, u.token);
    await take(s, 1);
    expect((await consumerState(u.token)).ack_pending).toBe(1);
    s.close();
    // Back at once (the ack wait is 2 s): a pull right after gets it.
    const started = Date.now();
    const page = await pull(broker.url, u.token, "wait=5s");
    expect(page.body.messages.map((m: any) => m.id)).toEqual([a]);
    expect(Date.now() - started).toBeLessThan(1_900);
  });

  it("ends every stream when the gateway shuts down", async () => {
    const u = await broker.user();
    const other = await broker.anotherGateway();
    const s = await openStream(other.url, u.token);
    await s.nextItem();
    const closing = other.close();
    await s.ended;
    await closing;
  });

  it("reads only the caller's consumers, with the same answers as a pull", async () => {
    const owner = await broker.user();
    const outsider = await broker.user();
    const ep = await broker.endpoint({ userId: owner.id });
    expect((await callApi(broker.url, owner.token, "POST", "/consumers", { name: "ci", start: "all" })).status).toBe(201);
    const id = await deliver(ep);
    const mine = await deliver(await broker.endpoint({ userId: outsider.id }));

    // Positive control: the owner streams his named consumer.
    const ownerStream = await openStream(broker.url, owner.token, "consumer=ci");
    expect((await take(ownerStream, 1))[0].id).toBe(id);
    ownerStream.close();
    // The outsider has no consumer of that name: 404, as for a pull.
    const denied = await openStream(broker.url, outsider.token, "consumer=ci");
    expect(denied.status).toBe(404);
    expect(denied.errorBody.error.code).toBe((await pull(broker.url, outsider.token, "consumer=ci")).body.error.code);
    // His own stream shows his delivery only.
    const his = await openStream(broker.url, outsider.token);
    expect((await take(his, 1))[0].id).toBe(mine);
    his.close();
    // No token: 401.
    expect((await fetch(`${broker.url}/api/v1/messages/stream`)).status).toBe(401);
  });

  it("validates its input with clear errors", async () => {
    const u = await broker.user();
    for (const [q, h] of [
      ["ack=sometimes", {}],
      ["max_in_flight=0", {}],
      ["max_in_flight=100000", {}],
      ["heartbeat=soon", {}],
      ["heartbeat=10ms", {}],
      ["consumer=../x", {}],
      ["", { "last-event-id": "abc" }],
    ] as const) {
      const s = await openStream(broker.url, u.token, q, h);
      expect(s.status, q).toBe(400);
      expect(s.errorBody.error.code).toBe("invalid_request");
    }
  });
});
