import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { startTestBroker, type TestBroker, ack, postGithub, pull, messageIds } from "@wb/test-support";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ ACK_WAIT: "1500ms" });
});
afterAll(() => broker?.close());

const ids = messageIds;

/** Pulls until the gateway has reconnected to the restarted server (a few 503s/500s first). */
async function pullAfterRestart(token: string, query: string): Promise<number[]> {
  let got: number[] = [];
  await vi.waitFor(
    async () => {
      const r = await pull(broker.url, token, query);
      expect(r.status).toBe(200);
      got = ids(r.body);
    },
    { timeout: 20_000, interval: 200 },
  );
  return got;
}

it("keeps acks (by id and by token) across a nats-server restart: only what was not acked comes back", async () => {
  const u = await broker.user();
  const ep = await broker.endpoint({ userId: u.id });
  const sent: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret });
    sent.push((await res.json()).id);
  }
  const page = await pull(broker.url, u.token, "limit=10&wait=2s");
  expect(ids(page.body)).toEqual(sent);
  expect((await ack(broker.url, u.token, [sent[0], sent[1]])).status).toBe(200);
  const tokenOf = (id: number) => page.body.messages.find((m: any) => m.id === id).ack_token;
  expect((await ack(broker.url, u.token, [], { ack_tokens: [tokenOf(sent[2]!)] })).status).toBe(200);

  await broker.nats.stop();
  await broker.nats.start();

  // The long poll returns with the first redelivery: sent[3], or an earlier one whose ack was lost.
  expect(await pullAfterRestart(u.token, "limit=10&wait=5s")).toEqual([sent[3]]);
});

it("answers an ack 503 with Retry-After while nats-server is down, and the message is then still there", async () => {
  const u = await broker.user();
  const ep = await broker.endpoint({ userId: u.id });
  const res = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret });
  const id = (await res.json()).id;
  const page = await pull(broker.url, u.token, "limit=10&wait=2s");
  expect(ids(page.body)).toEqual([id]);
  await broker.nats.kill();
  try {
    const answer = await fetch(`${broker.url}/api/v1/messages/ack`, {
      method: "POST",
      headers: { authorization: `Bearer ${u.token}`, "content-type": "application/json" },
      body: JSON.stringify({ ack_tokens: [page.body.messages[0].ack_token] }),
    });
    // A 200 here would be a promise nobody kept: the server never saw the ack.
    expect(answer.status).toBe(503);
    expect(answer.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await answer.json()).error.code).toBe("unavailable");
  } finally {
    await broker.nats.start();
  }
  expect(await pullAfterRestart(u.token, "limit=10&wait=5s")).toEqual([id]);
});
