/**
 * A gateway started while PostgreSQL is down starts anyway: live, not ready (postgres named),
 * the API and ingest answer 503 with Retry-After (an endpoint's secret cannot be known without
 * the table, so no path is judged unknown); once the database answers it migrates, loads the
 * endpoint table and becomes ready without a restart.
 */
import { createApiToken, createEndpoint, createLogger, createUser, ENDPOINTS_CHANGED_SUBJECT, openDatabase, SecretBox } from "@wb/authz";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startGateway, type RunningGateway } from "../src/gateway.js";
import { bearer, createTestDatabase, postGithub, startPgProxy, startTestBroker, type PgProxy, type TestBroker, type TestDatabase } from "@wb/test-support";

let broker: TestBroker;
let fresh: TestDatabase;
let proxy: PgProxy;
let gateway: RunningGateway | undefined;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
  // A database never migrated: what the gateway finds on a first start with PostgreSQL late.
  fresh = await createTestDatabase("down_at_start");
  proxy = await startPgProxy(fresh.url);
});
afterAll(async () => {
  await gateway?.close();
  await proxy?.close();
  await fresh?.drop();
  await broker?.close();
});

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; retryAfter: string | null; body: any }> {
  const res = await fetch(`${gateway!.url}${path}`, { headers });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.json() };
}

it("starts while PostgreSQL is down, answers 503 with Retry-After, and becomes ready once it is back", async () => {
  proxy.setMode("down");
  const log = createLogger("gateway", { level: "info", destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  gateway = await startGateway({ ...broker.config, DATABASE_URL: proxy.url }, log);

  expect((await get("/healthz")).status).toBe(200);
  const ready = await get("/readyz");
  expect(ready.status).toBe(503);
  expect(ready.body.checks).toMatchObject({ jetstream: "ok", postgres: expect.stringMatching(/^down: unreachable \(.+\); retrying$/), endpoint_cache: "not loaded" });
  // Ingest's own readiness is not met either: without the table no endpoint can be verified.
  expect((await get("/readyz?for=ingest")).status).toBe(503);

  const api = await get("/api/v1/me", bearer("whb_anything"));
  expect(api).toMatchObject({ status: 503, retryAfter: "5", body: { error: { code: "unavailable", message: expect.stringMatching(/database/) } } });
  const ingest = await postGithub(`${gateway.url}/webhook/any/path`, { secret: "s" });
  expect(ingest.status).toBe(503);
  expect(ingest.headers.get("retry-after")).toBe("5");
  expect((await ingest.json()).error).toMatchObject({ code: "unavailable", message: expect.stringMatching(/endpoint table/) });
  expect(lines).toContainEqual(expect.objectContaining({ level: "warn", component: "gateway", msg: expect.stringMatching(/PostgreSQL not ready at start/) }));

  proxy.setMode("up");
  await expect.poll(async () => (await get("/readyz")).status, { timeout: 20_000, interval: 200 }).toBe(200);
  expect(lines).toContainEqual(expect.objectContaining({ level: "info", msg: expect.stringMatching(/PostgreSQL is back/) }));

  // Migrated and serving: a user and an endpoint made now work through this gateway.
  const database = openDatabase(fresh.url, { max: 1 });
  try {
    const user = await createUser(database.db, { name: "late" });
    const { token } = await createApiToken(database.db, user.id, "t");
    const ep = await createEndpoint(database.db, new SecretBox(broker.config.SECRET_KEY), { path: "late/github", provider: "github", owner: { userId: user.id } });
    expect((await get("/api/v1/me", bearer(token))).status).toBe(200);
    // An unknown path is a 404 again, now that the table is known.
    expect((await postGithub(`${gateway.url}/webhook/any/path`, { secret: "s" })).status).toBe(404);
    const nc = await broker.admin();
    await expect
      .poll(
        async () => {
          nc.publish(ENDPOINTS_CHANGED_SUBJECT);
          await nc.flush();
          return (await postGithub(`${gateway!.url}/webhook/${ep.endpoint.path}`, { secret: ep.secret })).status;
        },
        { timeout: 10_000, interval: 300 },
      )
      .toBe(202);
  } finally {
    await database.close();
  }
});
