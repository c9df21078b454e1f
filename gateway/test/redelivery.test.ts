import { afterAll, beforeAll, expect, it } from "vitest";
import { deliverGithub, messageIds, pull, startTestBroker, type TestBroker } from "@wb/test-support";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ ACK_WAIT: "1500ms" });
});
afterAll(() => broker?.close());

it("a pull returns every redelivery that is due at once, up to limit (not one per pull)", async () => {
  const u = await broker.user();
  const ep = await broker.endpoint({ userId: u.id });
  const sent = [];
  for (let i = 0; i < 5; i++) sent.push(await deliverGithub(broker.url, ep));
  const rounds: number[][] = [];
  const counts: number[][] = [];
  for (let round = 0; round < 3; round++) {
    // Never acked: each round waits for the ack wait to run out, then gets all five back.
    const page = await pull(broker.url, u.token, "limit=10&wait=10s");
    rounds.push(messageIds(page.body).sort((a, b) => a - b));
    counts.push(page.body.messages.map((m: any) => m.delivery_count));
  }
  expect(rounds).toEqual([sent, sent, sent]);
  expect(counts).toEqual([[1, 1, 1, 1, 1], [2, 2, 2, 2, 2], [3, 3, 3, 3, 3]]);
  // limit still bounds the page: the rest stay due for the next pull.
  const small = await pull(broker.url, u.token, "limit=2&wait=10s");
  expect(small.body.messages).toHaveLength(2);
  expect(small.body.has_more).toBe(true);
  const rest = await pull(broker.url, u.token, "limit=10&wait=1s");
  expect(rest.body.messages).toHaveLength(3);
});
