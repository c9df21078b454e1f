/**
 * What the README's "NATS hardening" says about limits: nats-server applies a callout user JWT's
 * permissions but not its limits (server/auth_callout.go clears the JWT and registers an nkey
 * user built from the permissions), so the broker sets them on the CLIENTS account instead.
 * Here the account allows more than the JWT (which carries CLIENT_LIMITS: 256 subscriptions,
 * 64 KiB): a user gets the account's limits, not the JWT's. If a nats-server release starts
 * applying JWT limits, this fails: update the README and nats-config.ts's note.
 */
import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createTestDatabase, startPrivateNats, type PrivateNats, type TestDatabase } from "@wb/test-support";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateCalloutKeys } from "../src/callout/keys.js";
import { loadCalloutConfig, startCallout, type RunningCallout } from "../src/callout/main.js";
import { CLIENT_LIMITS, calloutNatsConfig } from "../src/callout/nats-config.js";
import { migrateDatabase, openDatabase, type Database } from "../src/db/client.js";
import { ensureDefaultConsumer } from "../src/consumers.js";
import { createApiToken, createUser, inboxPrefixOf } from "../src/users.js";

const ACCOUNT = { maxSubscriptions: 2 * CLIENT_LIMITS.maxSubscriptions, maxPayload: 4 * CLIENT_LIMITS.maxPayload };

let tdb: TestDatabase;
let database: Database;
let nats: PrivateNats;
let callout: RunningCallout;

beforeAll(async () => {
  tdb = await createTestDatabase("jwt_limits");
  database = openDatabase(tdb.url, { max: 2 });
  await migrateDatabase(database.db);
  const keys = generateCalloutKeys();
  const calloutPassword = randomBytes(18).toString("base64url");
  nats = await startPrivateNats({
    callout: calloutNatsConfig({ issuerPublicKey: keys.issuerPublicKey, xkeyPublicKey: keys.xkeyPublicKey, stream: "WEBHOOKS", calloutPassword, clientLimits: ACCOUNT }),
  });
  const quiet = { info: () => {}, warn: () => {}, error: () => {} };
  callout = await startCallout(
    loadCalloutConfig({
      NATS_URL: nats.url,
      CALLOUT_NATS_PASSWORD: calloutPassword,
      DATABASE_URL: tdb.url,
      CALLOUT_ISSUER_SEED: keys.issuerSeed,
      CALLOUT_XKEY_SEED: keys.xkeySeed,
      CALLOUT_METRICS_PORT: "off",
    }),
    quiet,
    { processMetrics: false },
  );
});
afterAll(async () => {
  await callout?.stop();
  await nats?.dispose();
  await database?.close();
  await tdb?.drop();
});

it(`a callout user gets the CLIENTS account's limits, not the ones in his JWT (${CLIENT_LIMITS.maxSubscriptions} subscriptions, ${CLIENT_LIMITS.maxPayload} bytes)`, async () => {
  const user = await createUser(database.db, { name: `u_${randomBytes(4).toString("hex")}` });
  const { token } = await createApiToken(database.db, user.id, "nats");
  const inbox = await inboxPrefixOf(database.db, user.id);
  const { durableName: durable } = await ensureDefaultConsumer(database.db, user.id);
  const nc: NatsConnection = await connect({ servers: nats.url, token, inboxPrefix: inbox, maxReconnectAttempts: 0 });
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === "error") errors.push(String((s as { error?: unknown }).error));
  })();
  try {
    // The server announces the account's max_payload, not the JWT's.
    expect(nc.info?.max_payload).toBe(ACCOUNT.maxPayload);
    // More subscriptions than the JWT allows (fewer than the account does) are all taken.
    const subscriptions = CLIENT_LIMITS.maxSubscriptions + 50;
    for (let i = 0; i < subscriptions; i++) nc.subscribe(`${inbox}.s${i}`);
    await nc.flush();
    const connz = (await (await fetch(`${nats.monitorUrl}/connz?acc=CLIENTS`)).json()) as { connections: { subscriptions: number; name?: string }[] };
    expect(connz.connections.map((c) => c.subscriptions)).toEqual([subscriptions]);
    // A publish larger than the JWT's payload limit goes through too (an ack subject he may publish to).
    nc.publish(`$JS.ACK.WEBHOOKS.${durable}.1.1.1.0.0`, new Uint8Array(CLIENT_LIMITS.maxPayload + 1024));
    await nc.flush();
    expect(errors).toEqual([]);
    expect(nc.isClosed()).toBe(false);
  } finally {
    await nc.close().catch(() => {});
  }
});
