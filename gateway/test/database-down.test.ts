/**
 * PostgreSQL unreachable: API calls answer 503 `unavailable` with Retry-After (a client should
 * retry), not 500 `internal`; they work again once the database is back.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createLogger } from "@wb/authz";
import { startGateway, type RunningGateway } from "../src/gateway.js";
import { bearer, startPgProxy, startTestBroker, type PgProxy, type TestBroker } from "@wb/test-support";

let broker: TestBroker;
let proxy: PgProxy;
let gateway: RunningGateway;
beforeAll(async () => {
  broker = await startTestBroker();
  proxy = await startPgProxy(broker.config.DATABASE_URL);
  gateway = await startGateway({ ...broker.config, DATABASE_URL: proxy.url }, createLogger("gateway", { level: "silent" }));
});
afterAll(async () => {
  await gateway?.close();
  await proxy?.close();
  await broker?.close();
});

it("an API call while PostgreSQL is down: 503 unavailable with Retry-After; 200 again once it is back", async () => {
  const user = await broker.user();
  const me = () => fetch(`${gateway.url}/api/v1/me`, { headers: bearer(user.token) });
  expect((await me()).status).toBe(200);

  proxy.setMode("down");
  const down = await me();
  expect(down.status).toBe(503);
  expect(Number(down.headers.get("retry-after"))).toBeGreaterThan(0);
  expect((await down.json()).error).toMatchObject({ code: "unavailable", message: expect.stringMatching(/database/) });

  proxy.setMode("up");
  await expect.poll(async () => (await me()).status, { timeout: 10_000, interval: 100 }).toBe(200);
});
