import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestBroker, type TestBroker, ack, postGithub, pull } from "@wb/test-support";

let broker: TestBroker;
// A long ack wait: anything a pull swallowed would stay invisible for the rest of the test.
beforeAll(async () => {
  broker = await startTestBroker({ ACK_WAIT: "120s", RATE_LIMIT_PER_ENDPOINT: "off", RATE_LIMIT_PER_CLIENT: "off" });
});
afterAll(() => broker?.close());

it("loses nothing to a pull that answered while deliveries kept arriving", async () => {
  const u = await broker.user();
  const ep = await broker.endpoint({ userId: u.id });
  const sent = new Set<number>();
  const seen = new Set<number>();
  let publishing = true;

  const publisher = (async () => {
    for (let i = 0; i < 40; i++) {
      const batch = await Promise.all(
        Array.from({ length: 5 }, () => postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret }).then((r) => r.json())),
      );
      for (const b of batch) sent.add(b.id);
    }
    publishing = false;
  })();

  // Small pages while deliveries arrive: each answer is decided while the server still has more.
  const reader = async () => {
    for (;;) {
      const page = await pull(broker.url, u.token, "limit=3&wait=1s");
      const got: number[] = page.body.messages.map((m: { id: number }) => m.id);
      for (const id of got) seen.add(id);
      if (got.length > 0) await ack(broker.url, u.token, got);
      else if (!publishing) return;
    }
  };
  await Promise.all([publisher, reader(), reader()]);

  expect(sent.size).toBe(200);
  expect([...sent].filter((id) => !seen.has(id))).toEqual([]);
});
