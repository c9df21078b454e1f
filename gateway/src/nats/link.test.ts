import { connectAdmin, startPrivateNats, type PrivateNats } from "@wb/test-support";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { NatsLink, requestThroughReconnects } from "./link.js";
import { isLeaderUnavailable } from "./publish-errors.js";

let server: PrivateNats;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startPrivateNats();
  const opts = { maxReconnectAttempts: -1, reconnectTimeWait: 100 };
  nc = await connectAdmin(server, opts);
});
afterAll(async () => {
  await nc?.close();
  await server?.dispose();
});

const down = () => new Error("down");

it("answers at once while down, and resends a request a reconnect dropped", async () => {
  const link = new NatsLink(nc);
  const seen: number[] = [];
  // Never answers the first request (as if lost in the restart), answers every later one. On
  // the same connection, so it is subscribed again before the resend, as JetStream would be.
  nc.subscribe("svc", {
    callback: (_, m) => {
      seen.push(Date.now());
      if (seen.length > 1) m.respond("ok");
    },
  });
  await nc.flush();

  const t0 = Date.now();
  const answer = requestThroughReconnects(link, 10_000, (timeout) => nc.request("svc", "x", { timeout }).then((m) => m.string()), down);
  await expect.poll(() => seen.length).toBe(1);
  await server.kill();
  await expect.poll(() => link.up).toBe(false);
  // Down: refused at once.
  const refusedAt = Date.now();
  await expect(requestThroughReconnects(link, 10_000, () => nc.request("svc"), down)).rejects.toThrow("down");
  expect(Date.now() - refusedAt).toBeLessThan(500);

  await server.start();
  // The pending one is sent again after the reconnect and answered, long before its 10 s.
  expect(await answer).toBe("ok");
  expect(seen.length).toBe(2);
  expect(Date.now() - t0).toBeLessThan(8_000);
});

it("sends again a request nobody answered yet (a stream between leaders) while time is left, then gives up with its error", async () => {
  const link = new NatsLink(nc);
  const ask = (subject: string) => (timeout: number) => nc.request(subject, "x", { timeout }).then((m) => m.string());
  // Nobody listens on "later" until 300 ms from now: "no responders" until then, as while a
  // stream's leader is elected; then answered, within the 3 s.
  let asked = 0;
  const later = requestThroughReconnects(link, 3_000, (t) => {
    asked++;
    return ask("later")(t);
  }, down, isLeaderUnavailable);
  setTimeout(() => nc.subscribe("later", { callback: (_, m) => void m.respond("elected") }), 300);
  expect(await later).toBe("elected");
  expect(asked).toBeGreaterThan(1);

  // Nobody ever: the no-responders error once the time is up, not before.
  const t0 = Date.now();
  const never = await requestThroughReconnects(link, 1_000, ask("never"), down, isLeaderUnavailable).catch((err: unknown) => err);
  expect(isLeaderUnavailable(never)).toBe(true);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(700);

  // Without the policy (or for another failure) the first error is the answer, at once.
  const t1 = Date.now();
  const once = await requestThroughReconnects(link, 3_000, ask("never"), down).catch((err: unknown) => err);
  expect(isLeaderUnavailable(once)).toBe(true);
  expect(Date.now() - t1).toBeLessThan(500);
});
