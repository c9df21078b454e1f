/**
 * The README's "Direct NATS access" flow end to end, through the real gateway and the real auth
 * callout (nats-server of its own with the callout wired in, callout service in-process against
 * the test database): a webhook posted over HTTP is read, byte for byte, with nats.js using only
 * the API token and what GET /api/v1/me says; the ack is the same ack the HTTP API sees; an
 * outsider gets nothing; a named consumer made over HTTP is readable over NATS on the next
 * connect. The client code here is the README's example, kept in step with it.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { jetstream, type JsMsg } from "@nats-io/jetstream";
import { connect, errors, type NatsConnection } from "@nats-io/transport-node";
import { endpointToken, redriveSubject, REVOCATION_BOUND_MS } from "@wb/authz";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestBroker, type TestBroker, bearer, expectAllAcked, postGithub } from "@wb/test-support";

interface Me {
  user: { id: string; name: string; admin: boolean };
  nats: { stream: string; api_prefix: string; inbox_prefix: string; consumers: { name: string; durable_name: string }[] };
}

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({}, { callout: true });
});
afterAll(() => broker?.close());

async function me(token: string): Promise<Me> {
  const res = await fetch(`${broker.url}/api/v1/me`, { headers: bearer(token) });
  expect(res.status).toBe(200);
  return (await res.json()) as Me;
}

const durableOf = (m: Me, name: string): string => {
  const c = m.nats.consumers.find((x) => x.name === name);
  expect(c, `consumer ${name} in /me`).toBeDefined();
  return c!.durable_name;
};

/** Exactly the README's connect: the API token as the NATS token, the inbox prefix from /me. */
function connectWith(token: string, m: Me): Promise<NatsConnection> {
  return connect({ servers: broker.nats.url, token, inboxPrefix: m.nats.inbox_prefix, maxReconnectAttempts: 0 });
}

/** The README's read loop, bounded for a test: `consume()`, stopped once `max` messages are in or after `withinMs`. */
async function readSome(nc: NatsConnection, m: Me, durable: string, max: number, withinMs: number): Promise<JsMsg[]> {
  const consumer = await jetstream(nc, { apiPrefix: m.nats.api_prefix }).consumers.get(m.nats.stream, durable);
  const messages = await consumer.consume({ max_messages: max, expires: 2_000 });
  const timer = setTimeout(() => void messages.stop(), withinMs);
  const got: JsMsg[] = [];
  try {
    for await (const msg of messages) {
      got.push(msg);
      if (got.length === max) break;
    }
  } finally {
    clearTimeout(timer);
    await messages.close();
  }
  return got;
}

/** Runs `action`; it must fail, and the server must report a permission violation on `subject`. */
async function expectDenied(nc: NatsConnection, subject: string, action: () => Promise<unknown>): Promise<unknown> {
  const seen = (async () => {
    for await (const s of nc.status()) {
      if (s.type === "error" && s.error instanceof errors.PermissionViolationError && s.error.subject === subject) return s.error;
    }
    return undefined;
  })();
  const outcome = await action().then(
    () => ({ ok: true as const }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  await nc.flush().catch(() => {});
  const violation = await Promise.race([seen, sleep(3_000).then(() => undefined)]);
  expect(outcome.ok, `expected ${subject} to fail`).toBe(false);
  expect(violation, `expected a permission violation for ${subject}`).toBeInstanceOf(errors.PermissionViolationError);
  return outcome.ok ? undefined : outcome.err;
}

describe("direct NATS access through the gateway and the auth callout", () => {
  let alice: { id: string; name: string; token: string };
  let bob: { id: string; name: string; token: string };
  let ep: { id: string; path: string; secret: string };
  let bobsEp: { id: string; path: string; secret: string };
  let aliceMe: Me;
  const body = JSON.stringify({ ref: "refs/heads/main", note: `direct-nats ${randomUUID()}`, unicode: "é✓" });
  const deliveryId = randomUUID();
  let firstId: number;

  beforeAll(async () => {
    alice = await broker.user();
    bob = await broker.user();
    ep = await broker.endpoint({ userId: alice.id });
    bobsEp = await broker.endpoint({ userId: bob.id });
  });

  it("a webhook posted over HTTP is read, byte for byte, and acked with nats.js", async () => {
    const res = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret, body, deliveryId });
    expect(res.status).toBe(202);
    firstId = ((await res.json()) as { id: number }).id;

    aliceMe = await me(alice.token);
    expect(aliceMe.user).toEqual({ id: alice.id, name: alice.name, admin: false });
    expect(aliceMe.nats.api_prefix).toBe("APPJS.API");
    expect(aliceMe.nats.stream).toBe(broker.config.STREAM_NAME);
    const durable = durableOf(aliceMe, "default");

    const nc = await connectWith(alice.token, aliceMe);
    try {
      const got = await readSome(nc, aliceMe, durable, 1, 15_000);
      expect(got).toHaveLength(1);
      const msg = got[0]!;
      expect(msg.seq).toBe(firstId);
      expect(msg.subject).toBe(`wh.${endpointToken(ep.id)}.push.${ep.path.split("/").join(".")}`);
      expect(Buffer.from(msg.data).equals(Buffer.from(body))).toBe(true);
      expect(msg.headers?.get("Wb-Delivery-Id")).toBe(deliveryId);
      expect(msg.headers?.get("Wb-Event")).toBe("push");
      expect(await msg.ackAck()).toBe(true);
    } finally {
      await nc.close();
    }
    // The same durable: what was acked over NATS is settled for the HTTP API too.
    await expectAllAcked(broker.url, alice.token);
  });

  it("an outsider cannot touch the owner's durable, and his own consumer gets nothing of the owner's", async () => {
    // Something un-acked in the owner's durable, so there is something to steal.
    const res = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret, body: '{"second":true}' });
    expect(res.status).toBe(202);
    // Then one of his own: had the owner's leaked to him, it would come first.
    const his = await postGithub(`${broker.url}/webhook/${bobsEp.path}`, { secret: bobsEp.secret });
    expect(his.status).toBe(202);
    const hisId = ((await his.json()) as { id: number }).id;

    const bobMe = await me(bob.token);
    expect(bobMe.nats.inbox_prefix).not.toBe(aliceMe.nats.inbox_prefix);
    const aliceDurable = durableOf(aliceMe, "default");
    const nc = await connectWith(bob.token, bobMe);
    try {
      const js = jetstream(nc, { apiPrefix: bobMe.nats.api_prefix });
      await expectDenied(nc, `APPJS.API.CONSUMER.INFO.${bobMe.nats.stream}.${aliceDurable}`, () =>
        js.consumers.get(bobMe.nats.stream, aliceDurable),
      );
      const own = await js.consumers.get(bobMe.nats.stream, durableOf(bobMe, "default"));
      const info = await own.info();
      expect([info.num_pending, info.num_ack_pending]).toEqual([1, 0]);
      const got = await readSome(nc, bobMe, durableOf(bobMe, "default"), 1, 15_000);
      expect(got.map((m) => m.seq)).toEqual([hisId]);
      expect(await got[0]!.ackAck()).toBe(true);
    } finally {
      await nc.close();
    }
    await expectAllAcked(broker.url, bob.token);
  });

  it("a named consumer created over HTTP is readable over NATS on the next connect", async () => {
    // A connection opened before the consumer exists does not have it (permissions are fixed at
    // connect), so the callout closes it once the API announced the change, for a fresh connect.
    const early = await connect({ servers: broker.nats.url, token: alice.token, inboxPrefix: aliceMe.nats.inbox_prefix, reconnectTimeWait: 100 });
    const res = await fetch(`${broker.url}/api/v1/consumers`, {
      method: "POST",
      headers: { ...bearer(alice.token), "content-type": "application/json" },
      body: JSON.stringify({ name: "laptop", start: "all" }),
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { name: string; durable_name: string };
    expect(created.name).toBe("laptop");

    const refreshed = await me(alice.token);
    const durable = durableOf(refreshed, "laptop");
    expect(durable).toBe(created.durable_name);

    // It is closed within the revocation bound (asserted in authz/test/callout.test.ts);
    // the client then reconnects through the callout and gets the new consumer. The reconnect
    // gets its own allowance on top: on a loaded machine it can take seconds.
    await vi.waitFor(
      async () => {
        const c = await jetstream(early, { apiPrefix: refreshed.nats.api_prefix }).consumers.get(refreshed.nats.stream, durable);
        await c.info(true);
      },
      { timeout: 2 * REVOCATION_BOUND_MS, interval: 250 },
    );
    await early.close();

    const nc = await connectWith(alice.token, refreshed);
    try {
      // start "all": its own position, from the beginning, whatever the default durable acked.
      const got = await readSome(nc, refreshed, durable, 2, 15_000);
      expect(got.map((m) => m.seq)).toEqual([firstId, firstId + 1]);
      expect(Buffer.from(got[0]!.data).equals(Buffer.from(body))).toBe(true);
      for (const m of got) expect(await m.ackAck()).toBe(true);
    } finally {
      await nc.close();
    }
  }, 60_000);

  it(`a token revoked over HTTP loses its NATS connection within ${REVOCATION_BOUND_MS} ms; the owner's other token keeps its own`, async () => {
    const res = await fetch(`${broker.url}/api/v1/tokens`, {
      method: "POST",
      headers: { ...bearer(alice.token), "content-type": "application/json" },
      body: JSON.stringify({ name: `laptop-${randomUUID().slice(0, 8)}` }),
    });
    expect(res.status).toBe(201);
    const second = (await res.json()) as { id: string; token: string };
    // No reconnect: closed is when the server closed it (a reconnecting client would first retry).
    const doomed = await connect({ servers: broker.nats.url, token: second.token, inboxPrefix: aliceMe.nats.inbox_prefix, reconnect: false });
    const control = await connectWith(alice.token, aliceMe);
    try {
      const t0 = Date.now();
      expect((await fetch(`${broker.url}/api/v1/tokens/${second.id}`, { method: "DELETE", headers: bearer(alice.token) })).status).toBe(204);
      // The gateway announced it; the callout closed what used that token, and only that.
      await vi.waitFor(() => expect(doomed.isClosed()).toBe(true), { timeout: REVOCATION_BOUND_MS, interval: 50 });
      console.info(`[bound] token revoked over HTTP: NATS connection closed ${Date.now() - t0} ms after the DELETE`);
      await control.flush();
      expect(control.isClosed()).toBe(false);
      await expect(connectWith(second.token, aliceMe)).rejects.toBeInstanceOf(errors.AuthorizationError);
    } finally {
      await control.close();
    }
  });
});

describe("redrive over NATS", () => {
  it("a dead letter terminated over NATS and redriven over HTTP reaches the same durable's NATS reader; he cannot publish a redrive himself", async () => {
    const carol = await broker.user();
    const ep = await broker.endpoint({ userId: carol.id });
    const res = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret, body: '{"redrive":true}' });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as { id: number }).id;
    const carolMe = await me(carol.token);
    const durable = durableOf(carolMe, "default");
    const nc = await connectWith(carol.token, carolMe);
    try {
      const [first] = await readSome(nc, carolMe, durable, 1, 15_000);
      expect(first?.seq).toBe(id);
      first!.term();
      await nc.flush();
      const redrive = async () => (await fetch(`${broker.url}/api/v1/dead-letters/${id}/redrive`, { method: "POST", headers: bearer(carol.token) })).status;
      await vi.waitFor(async () => expect(await redrive()).toBe(200), { timeout: 5_000, interval: 100 });

      const [copy] = await readSome(nc, carolMe, durable, 1, 15_000);
      expect(copy?.subject).toBe(redriveSubject(durable, ep.id));
      expect(copy?.headers?.get("Wb-Redrive-Of")).toBe(String(id));
      expect(Buffer.from(copy!.data).toString()).toBe('{"redrive":true}');
      expect(await copy!.ackAck()).toBe(true);

      // Only the gateway writes redrive copies: the reader's permissions do not reach the stream.
      const subject = redriveSubject(durable, ep.id);
      const violation = (async () => {
        for await (const s of nc.status()) if (s.type === "error" && s.error instanceof errors.PermissionViolationError && s.error.subject === subject) return true;
        return false;
      })();
      nc.publish(subject, "forged");
      await nc.flush().catch(() => {});
      expect(await Promise.race([violation, sleep(3_000).then(() => false)])).toBe(true);
    } finally {
      await nc.close();
    }
    await expectAllAcked(broker.url, carol.token);
  });
});
