/**
 * nats-server unavailable (issue 16 #2): what was pending or asked while it is down or not
 * answering is a 503 `unavailable` with Retry-After, never a 500; the log keeps
 * "unhandled error" for bugs.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createLogger } from "@wb/authz";
import { startGateway, type RunningGateway } from "../src/gateway.js";
import { bearer, startTestBroker, type TestBroker } from "@wb/test-support";

let broker: TestBroker;
let gateway: RunningGateway;
const logged: { msg: string }[] = [];
beforeAll(async () => {
  broker = await startTestBroker();
  // This file's own gateway, with a log it reads (the broker's is silent).
  const destination = { write: (s: string) => void logged.push(JSON.parse(s)) };
  gateway = await startGateway({ ...broker.config, PORT: 0 }, createLogger("gateway", { level: "warn", destination }));
});
afterAll(async () => {
  await gateway?.close();
  await broker?.close();
});

const get = (token: string, path: string) => fetch(`${gateway.url}${path}`, { headers: bearer(token) });

async function expect503(res: Response): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(503);
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(JSON.parse(text).error.code).toBe("unavailable");
}

async function pullWorks(token: string): Promise<void> {
  await expect.poll(async () => (await get(token, "/api/v1/messages?wait=0s")).status, { timeout: 20_000, interval: 200 }).toBe(200);
}

/** Resolves once the server holds `n` pull requests on the durable (a long poll has reached it). */
async function waitingPulls(durable: string, n: number): Promise<void> {
  const jsm = await (await import("@nats-io/jetstream")).jetstreamManager(await broker.admin());
  await expect.poll(async () => (await jsm.consumers.info(broker.config.STREAM_NAME, durable)).num_waiting, { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(n);
}

it("nats-server killed: the pending long-poll and what is asked while it is down answer 503 at once; 200 once it is back", async () => {
  const u = await broker.user();
  const durable = `u_${u.id.replaceAll("-", "")}_default`;
  expect((await get(u.token, "/api/v1/messages?wait=0s")).status).toBe(200); // the durable exists
  const pending = get(u.token, "/api/v1/messages?wait=20s");
  await waitingPulls(durable, 1);
  const killedAt = Date.now();
  await broker.nats.kill();
  try {
    await expect503(await pending);
    expect(Date.now() - killedAt).toBeLessThan(5_000); // not the 20 s of the long poll
    for (const path of ["/api/v1/messages?wait=0s", "/api/v1/consumers/default", "/api/v1/me"]) {
      const t0 = Date.now();
      await expect503(await get(u.token, path));
      expect(Date.now() - t0, path).toBeLessThan(1_000);
    }
  } finally {
    await broker.nats.start();
  }
  await pullWorks(u.token);
  expect(logged.filter((l) => /unhandled/.test(l.msg))).toEqual([]);
});

it("nats-server not answering (SIGSTOP, the connection stays open): request timeouts and the pending long-poll answer 503, not 500", async () => {
  const u = await broker.user();
  const durable = `u_${u.id.replaceAll("-", "")}_default`;
  await pullWorks(u.token); // JetStream may need a moment after the restart above
  const pending = get(u.token, "/api/v1/messages?wait=4s");
  await waitingPulls(durable, 1);
  const pid = broker.nats.pid!;
  process.kill(pid, "SIGSTOP");
  try {
    const [longPoll, info, pull] = await Promise.all([pending, get(u.token, "/api/v1/consumers/default"), get(u.token, "/api/v1/messages?wait=0s")]);
    await expect503(longPoll);
    await expect503(info);
    await expect503(pull);
  } finally {
    process.kill(pid, "SIGCONT");
  }
  await pullWorks(u.token);
  expect(logged.filter((l) => /unhandled/.test(l.msg))).toEqual([]);
  expect(logged.some((l) => l.msg === "nats unavailable")).toBe(true);
});
