import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestBroker, type TestBroker, postGithub, streamCount } from "@wb/test-support";

let broker: TestBroker;
// A stream that holds about three ~7 KB pushes; full means refuse new, never drop stored.
beforeAll(async () => {
  broker = await startTestBroker({ STREAM_MAX_BYTES: "24KiB", RATE_LIMIT_PER_ENDPOINT: "off", RATE_LIMIT_PER_CLIENT: "off" });
});
afterAll(() => broker?.close());

it("answers 503 with Retry-After when the stream is full, and keeps what it stored", async () => {
  const u = await broker.user();
  const ep = await broker.endpoint({ userId: u.id });
  const accepted: number[] = [];
  let refused: Response | undefined;
  for (let i = 0; i < 10 && !refused; i++) {
    const res = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret });
    if (res.status === 202) accepted.push((await res.json()).id);
    else refused = res;
  }
  expect(accepted.length).toBeGreaterThan(0);
  expect(refused?.status).toBe(503);
  expect(Number(refused!.headers.get("retry-after"))).toBeGreaterThan(0);
  expect((await refused!.json()).error.code).toBe("unavailable");
  // Every 202 is still there: discard-new refuses the newcomer instead of dropping the oldest.
  expect(await streamCount(broker)).toBe(accepted.length);
});
