/**
 * One endpoint whose secret does not open (sealed under another SECRET_KEY, or corrupted) must
 * not take the others down: the endpoint cache skips it, counts it, and keeps serving the rest.
 */
import { randomBytes } from "node:crypto";
import { createEndpoint, SecretBox } from "@wb/authz";
import { afterAll, beforeAll, expect, it } from "vitest";
import { postGithub, startTestBroker, type TestBroker } from "@wb/test-support";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(() => broker?.close());

it("an endpoint sealed under another key is skipped and counted; every other endpoint still loads and ingests", async () => {
  const owner = await broker.user();
  const before = await broker.endpoint({ userId: owner.id });
  const otherKey = new SecretBox(randomBytes(32));
  const bad = await createEndpoint(broker.database.db, otherKey, { path: `gh/${randomBytes(4).toString("hex")}`, provider: "github", owner: { userId: owner.id } });
  // Created after the bad one: it must appear although a reload meets the bad row first.
  const after = await broker.endpoint({ userId: owner.id });

  expect(broker.gateway.endpoints.match(bad.endpoint.path.split("/"))).toBeUndefined();
  expect(broker.gateway.endpoints.undecryptable).toBe(1);
  for (const e of [before, after]) {
    expect((await postGithub(`${broker.url}/webhook/${e.path}`, { secret: e.secret })).status).toBe(202);
  }
  const refused = await postGithub(`${broker.url}/webhook/${bad.endpoint.path}`, { secret: bad.secret });
  expect(refused.status).toBe(404);
});
