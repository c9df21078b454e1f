import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestBroker, type TestBroker, postGithub, streamCount, pull, ack, messageIds, deliverGithub } from "@wb/test-support";

let broker: TestBroker;
// A stream that holds about three ~7 KB pushes; full means refuse new, never drop stored. The
// purge of acked deliveries (purge.ts) runs at once on a refusal and every second here.
beforeAll(async () => {
  broker = await startTestBroker({ STREAM_MAX_BYTES: "24KiB", STREAM_PURGE_INTERVAL: "1s", RATE_LIMIT_PER_ENDPOINT: "off", RATE_LIMIT_PER_CLIENT: "off" });
});
afterAll(() => broker?.close());

const readyz = async () => (await (await fetch(`${broker.url}/readyz?for=ingest`)).json()).stream;

it("answers 503 with Retry-After when the stream is full, keeps what is unread, and takes deliveries again once readers have acked", async () => {
  const reader = await broker.user();
  const ep = await broker.endpoint({ userId: reader.id });
  // Another user's private endpoint, whose owner has not started reading: it holds its delivery.
  const idle = await broker.user();
  const idleEp = await broker.endpoint({ userId: idle.id });
  await deliverGithub(broker.url, idleEp);
  expect((await pull(broker.url, reader.token, "wait=0s")).status).toBe(200); // the reader's durable exists

  const accepted: number[] = [];
  let refused: Response | undefined;
  for (let i = 0; i < 10 && !refused; i++) {
    const res = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret });
    if (res.status === 202) accepted.push((await res.json()).id);
    else refused = res;
  }
  expect(accepted.length).toBeGreaterThan(0);
  expect(refused?.status).toBe(503);
  expect(refused!.headers.get("retry-after")).toBe("30");
  expect((await refused!.json()).error).toMatchObject({ code: "unavailable", message: expect.stringMatching(/full/) });
  // Every 202 is still there: discard-new refuses the newcomer instead of dropping the oldest,
  // and nothing unread is purged however often the purge runs.
  expect(await streamCount(broker)).toBe(accepted.length + 1);
  expect(await readyz()).toMatchObject({ percent_full: expect.any(Number), purge_acked_at: 80 });
  expect((await readyz()).percent_full).toBeGreaterThan(80);
  const stillRefused = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret });
  expect(stillRefused.status).toBe(503);
  expect(await streamCount(broker)).toBe(accepted.length + 1);

  // The reader reads and acks everything: room is made and ingest resumes by itself.
  const page = await pull(broker.url, reader.token, "limit=50&wait=1s");
  expect(messageIds(page.body)).toEqual(accepted);
  expect((await ack(broker.url, reader.token, accepted)).status).toBe(200);
  await expect
    .poll(async () => (await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret })).status, { timeout: 15_000, interval: 250 })
    .toBe(202);
  expect((await readyz()).percent_full).toBeLessThan(80);
  // The idle owner's delivery was kept: he reads it when he starts.
  expect(messageIds((await pull(broker.url, idle.token, "limit=10&wait=1s")).body)).toHaveLength(1);
});
