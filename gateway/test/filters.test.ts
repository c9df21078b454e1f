import { createHmac, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callApi, deliverGithub, messageIds, openStream, pull, startTestBroker, type TestBroker } from "@wb/test-support";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ ACK_WAIT: "1500ms" });
});
afterAll(() => broker?.close());

async function world() {
  const u = await broker.user();
  const a = await broker.endpoint({ userId: u.id }, { path: `gh/a${randomBytes(3).toString("hex")}` });
  const b = await broker.endpoint({ userId: u.id }, { path: `gh/b${randomBytes(3).toString("hex")}` });
  const shop = await broker.endpoint({ userId: u.id }, { provider: "shopify", secret: randomBytes(16).toString("hex") });
  const pushA = await deliverGithub(broker.url, a, { event: "push" });
  const prA = await deliverGithub(broker.url, a, { event: "pull_request" });
  const pushB = await deliverGithub(broker.url, b, { event: "push" });
  const body = JSON.stringify({ id: 1 });
  const res = await fetch(`${broker.url}/webhook/${shop.path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-shopify-topic": "orders/create", "x-shopify-webhook-id": randomBytes(6).toString("hex"), "x-shopify-hmac-sha256": createHmac("sha256", shop.secret).update(body).digest("base64") },
    body,
  });
  expect(res.status).toBe(202);
  const order = (await res.json()).id as number;
  return { u, a, b, pushA, prA, pushB, order, first: pushA };
}

describe("read filters: source, event, endpoint_id, path", () => {
  it("replays: each filter narrows what is returned, ack state untouched", async () => {
    const w = await world();
    const replay = async (q: string) => messageIds((await pull(broker.url, w.u.token, `after_id=${w.first - 1}&limit=50&${q}`)).body);
    expect(await replay("event=push")).toEqual([w.pushA, w.pushB]);
    expect(await replay("event=push,pull_request")).toEqual([w.pushA, w.prA, w.pushB]);
    expect(await replay("source=shopify")).toEqual([w.order]);
    expect(await replay(`endpoint_id=${w.b.id}`)).toEqual([w.pushB]);
    expect(await replay(`path=/webhook/${w.a.path}/**`)).toEqual([w.pushA, w.prA]);
    expect(await replay(`source=github&event=push&path=/webhook/${w.a.path}/**`)).toEqual([w.pushA]);
    // Nothing acked or consumed by any of that: the durable still has all four.
    expect(messageIds((await pull(broker.url, w.u.token, "limit=50&wait=2s")).body)).toEqual([w.pushA, w.prA, w.pushB, w.order]);
  });

  it("durable: a filtered pull returns the matches; the rest stay pending and come back to an unfiltered read", async () => {
    const w = await world();
    const page = await pull(broker.url, w.u.token, "event=push&limit=50&wait=2s");
    expect(messageIds(page.body)).toEqual([w.pushA, w.pushB]);
    await callApi(broker.url, w.u.token, "POST", "/messages/ack", { ack_tokens: page.body.messages.map((m: any) => m.ack_token) });
    // Not acked by the filtered pull: after the ack wait an unfiltered read has them.
    const rest = await pull(broker.url, w.u.token, "limit=50&wait=5s");
    expect(messageIds(rest.body).sort((x, y) => x - y)).toEqual([w.prA, w.order]);
  });

  it("a filtered pull that matches nothing returns at its wait, it does not block", async () => {
    const w = await world();
    const started = Date.now();
    const page = await pull(broker.url, w.u.token, "event=nothing-like-this&wait=1s");
    expect(page.status).toBe(200);
    expect(page.body.messages).toEqual([]);
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it("streams: only matching events are sent", async () => {
    const w = await world();
    const s = await openStream(broker.url, w.u.token, `ack=auto&endpoint_id=${w.a.id}&event=pull_request`);
    expect(JSON.parse((await s.nextEvent()).data).id).toBe(w.prA);
    const next = await deliverGithub(broker.url, w.a, { event: "pull_request" });
    expect(JSON.parse((await s.nextEvent()).data).id).toBe(next);
    s.close();
  });

  it("refuses filters on a consumer with max_deliver, and bad filters, with a clear 400", async () => {
    const w = await world();
    expect((await callApi(broker.url, w.u.token, "POST", "/consumers", { name: "capped", start: "all", max_deliver: 3 })).status).toBe(201);
    const capped = await pull(broker.url, w.u.token, "consumer=capped&event=push");
    expect(capped.status).toBe(400);
    expect(capped.body.error.message).toMatch(/max_deliver/);
    // A replay of it is fine (no ack state).
    expect((await pull(broker.url, w.u.token, `consumer=capped&event=push&after_id=${w.first - 1}`)).status).toBe(200);
    for (const q of ["endpoint_id=nope", "path=a/**/b", "event=,"]) {
      const r = await pull(broker.url, w.u.token, q);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code).toBe("invalid_request");
    }
  });
});
