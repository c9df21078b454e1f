/**
 * The auth callout end to end: a real nats-server of its own with the callout wired in, the
 * callout service in-process, real PostgreSQL (the shared one, behind a proxy this test can
 * take down). Issue 4's list: allowed operations, every denial, revocation within the stated
 * bound, callout down and PostgreSQL down.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { connect, createInbox, errors, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDatabase, startPgProxy, type PgProxy, type TestDatabase } from "@wb/test-support";
import { migrateDatabase, openDatabase, type Database } from "../src/db/client.js";
import { consumers as consumersTable } from "../src/db/schema/index.js";
import { createEndpoint } from "../src/endpoints.js";
import { durableName } from "../src/naming.js";
import { ensureDefaultConsumer, listConsumers } from "../src/consumers.js";
import { createSubscription } from "../src/subscriptions/index.js";
import { ConsumerManager, consumerPlan, filtersOf, reconcileDurables } from "../src/durables/index.js";
import { watchAccessChanges, type AccessChangeWatcher } from "../src/access-changes.js";
import { announceGrantsChanged, type GrantsChanged } from "../src/announcements.js";
import { addMember, createOrganization, removeMember } from "../src/organizations.js";
import { SecretBox } from "../src/secret-box.js";
import { endpointToken } from "../src/subjects.js";
import { createApiToken, createUser, disableUser, inboxPrefixOf, revokeApiToken } from "../src/users.js";
import { CLIENT_API_PREFIX } from "../src/callout/decide.js";
import { kickUser, REVOCATION_BOUND_MS } from "../src/callout/revoker.js";
import { startCalloutStack, type CalloutStack } from "./callout-stack.js";
import { AccessTokenSigner } from "../src/auth/access-token.js";
import { revokeSession, startSession } from "../src/auth/sessions.js";
import { ensureSigningKey } from "../src/auth/signing-keys.js";

let tdb: TestDatabase;
let direct: Database; // for the test's own set-up, never behind the proxy
let proxy: PgProxy;
let stack: CalloutStack;
let durables: ConsumerManager;
/** The gateways' half of the mechanism (durables' filters), as gateway.ts runs it. */
let reconciler: AccessChangeWatcher;
const box = new SecretBox(randomBytes(32));

interface TestUser {
  id: string;
  /** His private inbox prefix (with his secret inbox token), as GET /api/v1/me gives it. */
  inbox: string;
  token: string;
  tokenId: string;
  durable: string;
  endpointId: string;
}

beforeAll(async () => {
  tdb = await createTestDatabase("callout");
  direct = openDatabase(tdb.url, { max: 3 });
  await migrateDatabase(direct.db);
  proxy = await startPgProxy(tdb.url);
  stack = await startCalloutStack({ databaseUrl: proxy.url }); // the callout reads through the proxy
  durables = new ConsumerManager({ jsm: stack.jsm, stream: stack.stream, ackWaitMs: 30_000 });
  reconciler = watchAccessChanges({
    nc: stack.admin,
    log: { warn: (obj, msg) => stack.logs.push({ level: "warn", msg, obj }) },
    failure: "consumer reconciliation failed",
    apply: (users) => reconcileDurables({ db: direct.db, consumers: durables }, users),
  });
});

afterAll(async () => {
  await reconciler?.stop();
  await stack?.dispose();
  await proxy?.close();
  await direct?.close();
  await tdb?.drop();
});

/** A user with a token, an endpoint of his own and his default durable (as the gateway makes it). */
async function newUser(): Promise<TestUser> {
  const name = `u_${randomBytes(4).toString("hex")}`;
  const user = await createUser(direct.db, { name });
  const { id: tokenId, token } = await createApiToken(direct.db, user.id, "nats");
  const { endpoint } = await createEndpoint(direct.db, box, { path: `t/${name}`, provider: "none", owner: { userId: user.id } });
  // The gateway records the default consumer's row when it creates the durable.
  const durable = (await ensureDefaultConsumer(direct.db, user.id)).durableName;
  await syncConsumer(user.id, durable);
  return { id: user.id, inbox: await inboxPrefixOf(direct.db, user.id), token, tokenId, durable, endpointId: endpoint.id };
}

/** What the gateway does on a pull: creates the durable from its row, or brings its filters to the plan. */
async function syncConsumer(userId: string, durable: string): Promise<void> {
  const row = (await listConsumers(direct.db, userId)).find((r) => r.durableName === durable)!;
  await durables.ensure(row, (await consumerPlan(direct.db, row)).filters);
}

/** Stores a delivery; resolves with its stream sequence. */
async function deliver(endpointId: string, body: string): Promise<number> {
  return (await jetstream(stack.admin).publish(`wh.${endpointToken(endpointId)}.push.x`, body)).seq;
}

async function streamCount(): Promise<number> {
  return (await stack.jsm.streams.info(stack.stream)).state.messages;
}

function connectAs(u: Pick<TestUser, "inbox" | "token">, extra: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  return connect({ servers: stack.nats.url, token: u.token, inboxPrefix: u.inbox, reconnect: false, ...extra });
}

const userJs = (nc: NatsConnection) => jetstream(nc, { apiPrefix: CLIENT_API_PREFIX });

/**
 * Runs `action` and expects the server to report a permission violation for it. Rejections of
 * the action itself (timeouts, permission errors) are expected too and swallowed.
 */
async function expectDenied(nc: NatsConnection, subject: string | RegExp, action: () => Promise<unknown> | unknown): Promise<void> {
  const seen = (async () => {
    for await (const s of nc.status()) {
      if (s.type === "error" && s.error instanceof errors.PermissionViolationError) {
        const subj = s.error.subject;
        if (typeof subject === "string" ? subj === subject : subject.test(subj)) return s.error;
      }
    }
    return undefined;
  })();
  await Promise.resolve()
    .then(action)
    .catch(() => {});
  await nc.flush().catch(() => {});
  const err = await Promise.race([seen, sleep(3_000).then(() => undefined)]);
  expect(err, `expected a permission violation for ${subject}`).toBeInstanceOf(errors.PermissionViolationError);
}

describe("a power user over his own consumer", () => {
  it("reads with consumer info, fetch, ack, nak, in-progress and term", async () => {
    const alice = await newUser();
    for (let i = 1; i <= 4; i++) await deliver(alice.endpointId, `m${i}`);
    const nc = await connectAs(alice);
    try {
      const consumer = await userJs(nc).consumers.get(stack.stream, alice.durable);
      const info = await consumer.info();
      expect(info.num_pending).toBe(4);

      const got: JsMsg[] = [];
      for await (const m of await consumer.fetch({ max_messages: 4, expires: 2_000 })) {
        got.push(m);
        if (got.length === 4) break;
      }
      expect(got.map((m) => m.string())).toEqual(["m1", "m2", "m3", "m4"]);
      const [m1, m2, m3, m4] = got as [JsMsg, JsMsg, JsMsg, JsMsg];
      expect(await m1.ackAck()).toBe(true);
      m3.working();
      m2.nak();
      m4.term();
      expect(await m3.ackAck()).toBe(true);

      const again: JsMsg[] = [];
      for await (const m of await consumer.fetch({ max_messages: 1, expires: 2_000 })) {
        again.push(m);
        break;
      }
      expect(again[0]?.string()).toBe("m2");
      expect(again[0]?.redelivered).toBe(true);
      expect(await again[0]!.ackAck()).toBe(true);
      const after = await consumer.info();
      expect(after.num_ack_pending).toBe(0);
      expect(after.num_pending).toBe(0);
    } finally {
      await nc.close();
    }
  });

  it("connects with user/password where the password is the token, and sees named consumers", async () => {
    const bob = await newUser();
    const named = durableName(bob.id, "ci");
    await direct.db.insert(consumersTable).values({ userId: bob.id, name: "ci", durableName: named });
    await syncConsumer(bob.id, named);
    const nc = await connect({ servers: stack.nats.url, user: "bob", pass: bob.token, inboxPrefix: bob.inbox, maxReconnectAttempts: 0 });
    try {
      const js = userJs(nc);
      expect((await (await js.consumers.get(stack.stream, bob.durable)).info()).name).toBe(bob.durable);
      expect((await (await js.consumers.get(stack.stream, named)).info()).name).toBe(named);
    } finally {
      await nc.close();
    }
  });
});

describe("everything else is denied", () => {
  let me: TestUser;
  let other: TestUser;
  let nc: NatsConnection;
  let before: number;

  beforeAll(async () => {
    me = await newUser();
    other = await newUser();
    await deliver(me.endpointId, "mine");
    await deliver(other.endpointId, "theirs");
    nc = await connectAs(me);
    before = await streamCount();
  });
  afterAll(async () => {
    await nc?.close();
  });

  const api = (rest: string) => `${CLIENT_API_PREFIX}.${rest}`;
  const inbox = () => createInbox(me.inbox);

  it("other users' consumers: info, pull, ack", async () => {
    await expectDenied(nc, api(`CONSUMER.INFO.${stack.stream}.${other.durable}`), () => userJs(nc).consumers.get(stack.stream, other.durable));
    const next = api(`CONSUMER.MSG.NEXT.${stack.stream}.${other.durable}`);
    await expectDenied(nc, next, () => nc.publish(next, JSON.stringify({ batch: 1, no_wait: true }), { reply: inbox() }));
    const ack = `$JS.ACK.${stack.stream}.${other.durable}.1.2.2.0.0.0.0`;
    await expectDenied(nc, ack, () => nc.publish(ack, "+ACK"));
    // ...and the un-renamed API of the stream's account is not reachable either.
    const raw = `$JS.API.CONSUMER.MSG.NEXT.${stack.stream}.${me.durable}`;
    await expectDenied(nc, raw, () => nc.publish(raw, JSON.stringify({ batch: 1 }), { reply: inbox() }));
  });

  it("creating or deleting consumers", async () => {
    for (const subject of [
      api(`CONSUMER.CREATE.${stack.stream}.mine`),
      api(`CONSUMER.DURABLE.CREATE.${stack.stream}.mine`),
      api(`CONSUMER.DELETE.${stack.stream}.${me.durable}`),
      `$JS.API.CONSUMER.CREATE.${stack.stream}.mine`,
      `$JS.API.CONSUMER.DELETE.${stack.stream}.${me.durable}`,
    ]) {
      await expectDenied(nc, subject, () => nc.request(subject, JSON.stringify({ stream_name: stack.stream, config: { durable_name: "mine" } }), { timeout: 1_000 }));
    }
    const jsm = await jetstreamManager(nc, { apiPrefix: CLIENT_API_PREFIX, checkAPI: false });
    await expectDenied(nc, /CONSUMER\.DELETE/, () => jsm.consumers.delete(stack.stream, me.durable));
    expect((await stack.jsm.consumers.info(stack.stream, me.durable)).name).toBe(me.durable);
  });

  it("reading the stream directly: STREAM.MSG.GET, DIRECT.GET, STREAM.INFO", async () => {
    for (const prefix of [CLIENT_API_PREFIX, "$JS.API"]) {
      for (const [subject, body] of [
        [`${prefix}.STREAM.MSG.GET.${stack.stream}`, { seq: 1 }],
        [`${prefix}.DIRECT.GET.${stack.stream}`, { seq: 1 }],
        [`${prefix}.DIRECT.GET.${stack.stream}.wh.>`, {}],
        [`${prefix}.STREAM.INFO.${stack.stream}`, {}],
        [`${prefix}.STREAM.NAMES`, {}],
        [`${prefix}.INFO`, {}],
      ] as const) {
        await expectDenied(nc, subject, () => nc.request(subject, JSON.stringify(body), { timeout: 1_000 }));
      }
    }
  });

  it("subscribing to stream subjects, other inboxes, or everything", async () => {
    for (const subject of ["wh.>", `wh.${endpointToken(other.endpointId)}.>`, `${other.inbox}.>`, "_INBOX.>", ">", "$JS.ACK.>"]) {
      await expectDenied(nc, subject, () => nc.subscribe(subject));
    }
  });

  it("publishing anywhere else, including into the stream's subjects", async () => {
    for (const subject of [`wh.${endpointToken(me.endpointId)}.push.x`, `wh.${endpointToken(other.endpointId)}.push.x`, "anything", `${other.inbox}.x`, `$JS.API.STREAM.PURGE.${stack.stream}`]) {
      await expectDenied(nc, subject, () => nc.publish(subject, "forged"));
    }
    expect(await streamCount()).toBe(before);
  });

  it("a pull request with a forged reply subject does not write into the stream", async () => {
    const bait = await deliver(me.endpointId, "bait");
    const baseline = await streamCount();
    const next = api(`CONSUMER.MSG.NEXT.${stack.stream}.${me.durable}`);
    for (const reply of [`wh.${endpointToken(me.endpointId)}.push.forged`, `wh.${endpointToken(other.endpointId)}.push.forged`]) {
      nc.publish(next, JSON.stringify({ batch: 5, no_wait: true }), { reply });
    }
    // A pull of his own, behind the forged ones on the same consumer, still finds the bait: the
    // forged replies took nothing (had a stream subscribed them, they would have got it first).
    const got: JsMsg[] = [];
    const consumer = await userJs(nc).consumers.get(stack.stream, me.durable);
    for await (const m of await consumer.fetch({ max_messages: 2, expires: 5_000 })) {
      got.push(m);
      if (got.length === 2) break;
    }
    expect(got.map((m) => m.string())).toEqual(["mine", "bait"]);
    expect(got[1]!.seq).toBe(bait);
    for (const m of got) m.ack();
    await nc.flush();
    expect(await streamCount()).toBe(baseline);
  });

  it("leaves the stream's message count unchanged after all write attempts", async () => {
    // The count only grew by the one message this suite delivered itself ("bait").
    expect(await streamCount()).toBe(before + 1);
  });
});

describe("authentication", () => {
  it("denies bad, missing, revoked-format and access-token-shaped credentials", async () => {
    const u = await newUser();
    for (const opts of [
      { token: "whb_" + randomBytes(32).toString("base64url") },
      { token: "nonsense" },
      { token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln" },
      { user: "someone", pass: "wrong" },
      {},
      { token: u.token.slice(0, -1) + (u.token.endsWith("A") ? "B" : "A") },
    ]) {
      await expect(connect({ servers: stack.nats.url, maxReconnectAttempts: 0, ...opts })).rejects.toBeInstanceOf(errors.AuthorizationError);
    }
    expect(stack.logs.some((l) => l.msg === "auth callout: denied")).toBe(true);
    // Deny reasons are logged; tokens never are.
    expect(JSON.stringify(stack.logs)).not.toContain(u.token.slice(4, 20));
  });
});

/** What the API and `pnpm cli` publish after changing access (the admin user is in APP like them). */
const announce = (change: Partial<GrantsChanged>) => announceGrantsChanged(stack.admin, change);

/** Resolves with how long `nc` took to close after `t0`, or rejects once `ms` have passed. */
async function closedWithin(nc: NatsConnection, t0: number, ms: number): Promise<number> {
  await Promise.race([nc.closed(), sleep(ms).then(() => Promise.reject(new Error(`still open after ${ms} ms`)))]);
  return Date.now() - t0;
}

const filtersNow = async (durable: string) => filtersOf(await stack.jsm.consumers.info(stack.stream, durable));
const mentions = (filters: string[], endpointId: string) => filters.some((f) => f.includes(endpointToken(endpointId)));

describe("revocation", () => {
  it(`a revoked token's connection is closed within ${REVOCATION_BOUND_MS} ms of the announcement and cannot reconnect`, async () => {
    const u = await newUser();
    const nc = await connectAs(u);
    const t0 = Date.now();
    await revokeApiToken(direct.db, u.tokenId);
    await announce({ user_ids: [u.id], change: "token_revoked" }); // as `pnpm cli tokens revoke` does
    const elapsed = await closedWithin(nc, t0, REVOCATION_BOUND_MS);
    console.info(`[bound] revoked token: connection closed ${elapsed} ms after the revocation`);
    expect(elapsed).toBeLessThanOrEqual(REVOCATION_BOUND_MS);
    await expect(connectAs(u)).rejects.toBeInstanceOf(errors.AuthorizationError);
  });

  it("kickUser disconnects a disabled user at once; he cannot reconnect", async () => {
    const u = await newUser();
    const a = await connectAs(u);
    const b = await connectAs(u);
    await disableUser(direct.db, u.id);
    expect(await kickUser(stack.sys, u.id)).toBe(2);
    await Promise.race([Promise.all([a.closed(), b.closed()]), sleep(REVOCATION_BOUND_MS)]);
    expect(a.isClosed() && b.isClosed()).toBe(true);
    await expect(connectAs(u)).rejects.toBeInstanceOf(errors.AuthorizationError);
  });

  it("leaves a connection alone while its token and access are unchanged (no false kicks)", async () => {
    const u = await newUser();
    const revoked = await newUser();
    const nc = await connectAs(u);
    const control = await connectAs(revoked);
    try {
      // One announcement names both: the pass that closes the revoked one looks at u's too...
      const watcher = stack.revoker()!.watcher;
      const before = watcher.passes;
      await revokeApiToken(direct.db, revoked.tokenId);
      await announce({ user_ids: [revoked.id, u.id], change: "token_revoked" });
      await closedWithin(control, Date.now(), REVOCATION_BOUND_MS);
      // ...and so do its recheck and a full safety sweep.
      await expect.poll(() => watcher.passes, { timeout: 10_000 }).toBeGreaterThanOrEqual(before + 2);
      await stack.revoker()!.sweep();
      expect(nc.isClosed()).toBe(false);
      await nc.flush();
      const kicks = stack.logs.filter((l) => /connection (revoked|closed)/.test(l.msg));
      expect(kicks.map((l) => (l.obj as { userId?: string }).userId)).toContain(revoked.id);
      expect(kicks.map((l) => (l.obj as { userId?: string }).userId)).not.toContain(u.id);
    } finally {
      await nc.close();
    }
  });

  it("a removed membership disconnects him within the bound of the announcement; he reconnects with what he may still read", async () => {
    const u = await newUser();
    const org = await createOrganization(direct.db, `org_${randomBytes(4).toString("hex")}`);
    await addMember(direct.db, org.id, u.id, "viewer");
    await createEndpoint(direct.db, box, { path: `o/${org.name}`, provider: "none", owner: { orgId: org.id } });
    const nc = await connectAs(u); // stamped with the membership and the org's endpoint
    const t0 = Date.now();
    await removeMember(direct.db, org.id, u.id);
    await announce({ organization_id: org.id, user_ids: [u.id], change: "member_removed" });
    const elapsed = await closedWithin(nc, t0, REVOCATION_BOUND_MS);
    console.info(`[bound] removed membership: connection closed ${elapsed} ms after the change`);
    expect(elapsed).toBeLessThanOrEqual(REVOCATION_BOUND_MS);
    const again = await connectAs(u); // still a valid user
    await again.close();
  });

  it("a change nobody announced (made in the database by hand) is caught by the safety sweep", async () => {
    const u = await newUser();
    const nc = await connectAs(u);
    await revokeApiToken(direct.db, u.tokenId); // no announcement
    expect(await stack.revoker()!.sweep()).toBeGreaterThanOrEqual(1);
    await closedWithin(nc, Date.now(), REVOCATION_BOUND_MS);
    await expect(connectAs(u)).rejects.toBeInstanceOf(errors.AuthorizationError);
  });

  it("an expiring token's connection ends at its expiry without any sweep (the user JWT expires with it)", async () => {
    const u = await newUser();
    const expiresAt = new Date(Date.now() + 3_000);
    const { token } = await createApiToken(direct.db, u.id, "short", expiresAt);
    const nc = await connectAs({ inbox: u.inbox, token });
    await closedWithin(nc, Date.now(), 3_000 + REVOCATION_BOUND_MS);
    const lateBy = Date.now() - expiresAt.getTime();
    console.info(`[bound] expiring token: connection closed ${lateBy} ms after the expiry`);
    // exp has whole seconds, cut down: closed within the second before the expiry, or soon after.
    expect(lateBy).toBeGreaterThan(-1_000);
    expect(lateBy).toBeLessThanOrEqual(1_500);
    // The JWT's exp is cut to whole seconds, so this can run up to a second before the token itself
    // expires: the server then refuses the JWT as expired (nats-server 2.15 says so by name).
    await expect(connectAs({ inbox: u.inbox, token })).rejects.toSatisfy(
      (e) => e instanceof errors.AuthorizationError || e instanceof errors.UserAuthenticationExpiredError,
    );
    // Once the token itself has expired, the callout refuses it.
    await vi.waitUntil(() => Date.now() > expiresAt.getTime(), { timeout: 2_000, interval: 50 });
    await expect(connectAs({ inbox: u.inbox, token })).rejects.toBeInstanceOf(errors.AuthorizationError);
  });

  it("narrowing after an access change keeps the user's subscriptions (never widens to all his grants)", async () => {
    const u = await newUser();
    const { endpoint: second } = await createEndpoint(direct.db, box, { path: `t2/${u.id.slice(0, 8)}`, provider: "none", owner: { userId: u.id } });
    await createSubscription(direct.db, u.id, { pattern: `/webhook/t2/${u.id.slice(0, 8)}/**`, filters: {}, consumer: "default" });
    await announce({ user_ids: [u.id], change: "subscription_created" });
    // Only the subscribed endpoint, not his first one.
    await expect.poll(async () => mentions(await filtersNow(u.durable), u.endpointId), { timeout: REVOCATION_BOUND_MS }).toBe(false);
    const filters = await filtersNow(u.durable);
    expect(filters.length).toBeGreaterThan(0);
    expect(filters.every((f) => f.includes(endpointToken(second.id)))).toBe(true);
  });

  it("one announcement of a removed membership narrows his durable and closes his connection: no more of that organization's messages", async () => {
    const u = await newUser();
    const org = await createOrganization(direct.db, `org_${randomBytes(4).toString("hex")}`);
    await addMember(direct.db, org.id, u.id, "member");
    const { endpoint: orgEndpoint } = await createEndpoint(direct.db, box, { path: `o/${org.name}`, provider: "none", owner: { orgId: org.id } });
    await syncConsumer(u.id, u.durable);

    await deliver(orgEndpoint.id, "org-1");
    let nc = await connectAs(u);
    const fetchAll = async (conn: NatsConnection) => {
      const out: string[] = [];
      const c = await userJs(conn).consumers.get(stack.stream, u.durable);
      for await (const m of await c.fetch({ max_messages: 10, expires: 1_000 })) {
        out.push(m.string());
        m.ack();
      }
      return out;
    };
    expect(await fetchAll(nc)).toEqual(["org-1"]);

    const t0 = Date.now();
    await removeMember(direct.db, org.id, u.id);
    await announce({ organization_id: org.id, user_ids: [u.id], change: "member_removed" });
    await closedWithin(nc, t0, REVOCATION_BOUND_MS);
    await expect.poll(async () => mentions(await filtersNow(u.durable), orgEndpoint.id), { timeout: 3_000 }).toBe(false);
    console.info(`[bound] removed membership: durable narrowed and connection closed ${Date.now() - t0} ms after the change`);

    await deliver(orgEndpoint.id, "org-2");
    await deliver(u.endpointId, "own-1");
    nc = await connectAs(u); // still a valid user: reconnects, but reads only what he may
    try {
      expect(await fetchAll(nc)).toEqual(["own-1"]);
    } finally {
      await nc.close();
    }
  });
});

describe("the broker's access tokens (sessions)", () => {
  /** A user of newUser() with a signed-in session; `ttlMs` sets the access token's lifetime, `now` back-dates it. */
  async function withSession(opts: { ttlMs?: number; now?: number } = {}) {
    const u = await newUser();
    await ensureSigningKey(direct.db, box);
    const { session } = await startSession(direct.db, u.id, "test");
    const access = await new AccessTokenSigner(direct.db, box, opts.ttlMs).issue({ userId: u.id, sessionId: session.id }, opts.now);
    return { ...u, sessionId: session.id, access };
  }

  it("a session's access token connects and reads his durable, like an API token", async () => {
    const u = await withSession();
    await deliver(u.endpointId, "for-the-session");
    const nc = await connectAs({ inbox: u.inbox, token: u.access.token });
    try {
      const c = await userJs(nc).consumers.get(stack.stream, u.durable);
      const got: string[] = [];
      for await (const m of await c.fetch({ max_messages: 1, expires: 2_000 })) {
        got.push(m.string());
        m.ack();
      }
      expect(got).toEqual(["for-the-session"]);
    } finally {
      await nc.close();
    }
  });

  it("refuses an expired access token, and one whose session is revoked", async () => {
    const expired = await withSession({ now: Date.now() - 16 * 60_000 });
    await expect(connectAs({ inbox: expired.inbox, token: expired.access.token })).rejects.toBeInstanceOf(errors.AuthorizationError);
    const revoked = await withSession();
    await revokeSession(direct.db, revoked.sessionId, "logout");
    await expect(connectAs({ inbox: revoked.inbox, token: revoked.access.token })).rejects.toBeInstanceOf(errors.AuthorizationError);
  });

  it(`a revoked session's connection is closed within ${REVOCATION_BOUND_MS} ms of the announcement, with nobody kicking it`, async () => {
    const u = await withSession();
    const nc = await connectAs({ inbox: u.inbox, token: u.access.token });
    const t0 = Date.now();
    await revokeSession(direct.db, u.sessionId, "logout");
    await announce({ user_ids: [u.id], change: "session_revoked" }); // as POST /auth/logout does
    const elapsed = await closedWithin(nc, t0, REVOCATION_BOUND_MS);
    console.info(`[bound] ended session: connection closed ${elapsed} ms after the logout`);
    expect(elapsed).toBeLessThanOrEqual(REVOCATION_BOUND_MS);
  });

  it("the connection ends when its access token expires (the user JWT lives no longer than the token)", async () => {
    const u = await withSession({ ttlMs: 3_000 });
    const nc = await connectAs({ inbox: u.inbox, token: u.access.token });
    const closed = await Promise.race([nc.closed().then(() => "closed"), sleep(12_000).then(() => "open")]);
    expect(closed).toBe("closed");
    // A session of the same user with a fresh token is fine (control).
    const fresh = await withSession();
    const again = await connectAs({ inbox: fresh.inbox, token: fresh.access.token });
    await again.close();
  }, 20_000);
});

describe("fails closed", () => {
  it("refuses connects while the callout service is down, and admits them once it is back", async () => {
    const u = await newUser();
    await stack.stopService();
    try {
      await expect(connectAs(u)).rejects.toBeInstanceOf(errors.AuthorizationError);
    } finally {
      await stack.startService();
    }
    const nc = await connectAs(u);
    await nc.close();
  });

  it("refuses connects while PostgreSQL is down or hangs, and admits them once it is back", async () => {
    const u = await newUser();
    for (const mode of ["down", "slow"] as const) {
      proxy.setMode(mode);
      try {
        await expect(connectAs(u)).rejects.toBeInstanceOf(errors.AuthorizationError);
      } finally {
        proxy.setMode("up");
      }
    }
    expect(stack.logs.some((l) => l.msg === "auth callout: denied" && /database/.test(String((l.obj as { reason?: string }).reason)))).toBe(true);
    // Admitted again once the pool has reconnected.
    const nc = await vi.waitFor(() => connectAs(u), { timeout: 5_000, interval: 250 });
    await nc.close();
  });
});
