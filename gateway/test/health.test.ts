/**
 * Liveness and readiness of a running gateway: /healthz answers while the process serves,
 * /readyz says which dependency is missing (503) and recovers by itself once it is back.
 */
import { createHash, randomBytes } from "node:crypto";
import { createLogger, openDatabase, SecretBox } from "@wb/authz";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startGateway, type RunningGateway } from "../src/gateway.js";
import { EndpointCache } from "../src/endpoint-cache.js";
import { healthRoutes } from "../src/routes/health.js";
import { postGithub, startPgProxy, startTestBroker, type PgProxy, type TestBroker } from "@wb/test-support";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(() => broker?.close());

async function get(base: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: await res.json() };
}

/** Both readiness checks also say how full the stream is (issue 16 #5). */
const roomy = expect.objectContaining({ messages: expect.any(Number), bytes: expect.any(Number), percent_full: expect.any(Number), full: false, purge_acked_at: 80 });
const allOk = { status: "ok", checks: { jetstream: "ok", postgres: "ok", endpoint_cache: "ok" }, stream: roomy };

describe("a gateway with everything up", () => {
  it("is live and ready, without a token", async () => {
    expect(await get(broker.url, "/healthz")).toEqual({ status: 200, body: { status: "ok" } });
    expect(await get(broker.url, "/readyz")).toEqual({ status: 200, body: allOk });
  });
});

describe("a dependency down", () => {
  it("PostgreSQL: not ready (503, postgres named), still live, ready for ingest; ready again once it is back", async () => {
    let proxy: PgProxy | undefined;
    let gateway: RunningGateway | undefined;
    // Created before the gateway starts, so its endpoint cache has it without PostgreSQL.
    const ep = await broker.endpoint({ userId: (await broker.user()).id });
    try {
      proxy = await startPgProxy(broker.config.DATABASE_URL);
      gateway = await startGateway({ ...broker.config, DATABASE_URL: proxy.url }, createLogger("gateway", { level: "silent" }));
      expect((await get(gateway.url, "/readyz")).status).toBe(200);

      proxy.setMode("down");
      const down = await get(gateway.url, "/readyz");
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ status: "unavailable", checks: { jetstream: "ok", postgres: expect.stringMatching(/^down: /), endpoint_cache: "ok" } });
      expect((await get(gateway.url, "/healthz")).status).toBe(200);
      // Ingest works without PostgreSQL, and its readiness says so.
      expect(await get(gateway.url, "/readyz?for=ingest")).toEqual({ status: 200, body: { status: "ok", checks: { jetstream: "ok", endpoint_cache: "ok" }, stream: roomy } });
      expect((await postGithub(`${gateway.url}/webhook/${ep.path}`, { secret: ep.secret })).status).toBe(202);
      expect((await get(gateway.url, "/readyz?for=everything")).status).toBe(400);

      proxy.setMode("up");
      await expect.poll(() => get(gateway!.url, "/readyz"), { timeout: 10_000, interval: 100 }).toEqual({ status: 200, body: allOk });
    } finally {
      await gateway?.close();
      await proxy?.close();
    }
  });

  it("PostgreSQL down during authenticated requests: the error is logged, the token and its hash are not", async () => {
    let proxy: PgProxy | undefined;
    let gateway: RunningGateway | undefined;
    const lines: string[] = [];
    try {
      proxy = await startPgProxy(broker.config.DATABASE_URL);
      gateway = await startGateway({ ...broker.config, DATABASE_URL: proxy.url }, createLogger("gateway", { level: "info", destination: { write: (s: string) => void lines.push(s) } }));
      const u = await broker.user();
      const me = () => fetch(`${gateway!.url}/api/v1/me`, { headers: { authorization: `Bearer ${u.token}` } });
      expect((await me()).status).toBe(200); // positive control: the token works

      proxy.setMode("down");
      expect((await me()).status).toBeGreaterThanOrEqual(500);
      const log = lines.join("");
      // The failure is in the log (the query, not its parameters) ...
      expect(log).toContain('"type":"DrizzleQueryError"');
      expect(log).toContain("params: [not logged]");
      // ... and neither the token nor the stored hash (hex, as drizzle printed it) is.
      expect(log).not.toContain(createHash("sha256").update(u.token).digest("hex"));
      expect(log).not.toContain(u.token);
    } finally {
      await gateway?.close();
      await proxy?.close();
    }
  });

  it("NATS: not ready (503, jetstream named), still live; ready again after the server restarts", async () => {
    await broker.nats.stop();
    try {
      // At once: the gateway knows its connection is down (it used to wait out the 5 s API timeout).
      const t0 = Date.now();
      const down = await get(broker.url, "/readyz");
      expect(Date.now() - t0).toBeLessThan(1_000);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ status: "unavailable", checks: { jetstream: expect.stringMatching(/^down: /), postgres: "ok", endpoint_cache: "ok" } });
      expect((await get(broker.url, "/healthz")).status).toBe(200);
    } finally {
      await broker.nats.start();
    }
    // Asked before the gateway has reconnected, /readyz would again wait out the timeout.
    await broker.gatewaysConnected();
    // The test's own admin connection (made by an earlier test) reconnects too: wait for it.
    await vi.waitFor(async () => (await broker.admin()).flush(), { timeout: 10_000, interval: 200 });
    await expect.poll(() => get(broker.url, "/readyz"), { timeout: 15_000, interval: 100 }).toEqual({ status: 200, body: allOk });
  });

  it("the stream deleted behind its back: not ready, jetstream says why", async () => {
    const jsm = await jetstreamManager(await broker.admin());
    const { config } = await jsm.streams.info(broker.config.STREAM_NAME);
    await jsm.streams.delete(broker.config.STREAM_NAME);
    try {
      const down = await get(broker.url, "/readyz");
      expect(down.status).toBe(503);
      expect(down.body.checks.jetstream).toMatch(/^down: .*stream not found/i);
    } finally {
      await jsm.streams.add(config);
    }
    expect(await get(broker.url, "/readyz")).toEqual({ status: 200, body: allOk });
  });

  it("an endpoint cache that never loaded: not ready", async () => {
    const nc = await broker.admin();
    const database = openDatabase(broker.config.DATABASE_URL, { max: 1 });
    try {
      const endpoints = new EndpointCache({ db: database.db, box: new SecretBox(randomBytes(32)), nc, log: createLogger("gateway", { level: "silent" }), refreshMs: 60_000 });
      const app = healthRoutes({ nc, jsm: await jetstreamManager(nc), database, endpoints, stream: broker.config.STREAM_NAME });
      const res = await app.request("/readyz");
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: "unavailable", checks: { jetstream: "ok", postgres: "ok", endpoint_cache: "not loaded" }, stream: expect.objectContaining({ full: false }) });
      await endpoints.reload();
      expect((await app.request("/readyz")).status).toBe(200);
    } finally {
      await database.close();
    }
  });
});
