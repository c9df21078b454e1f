/**
 * Tenant isolation over NATS (issue 11, attack 5 and the NATS hardening): through the real
 * gateway, a real nats-server with the auth callout and real PostgreSQL.
 */
import { randomUUID } from "node:crypto";
import { connect as netConnect } from "node:net";
import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { callApi, postGithub, startTestBroker, type TestBroker } from "@wb/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ACK_WAIT_MS = 2_000;
let broker: TestBroker;
beforeAll(async () => {
  // A short ack wait, so that redeliveries happen within a test.
  broker = await startTestBroker({ ACK_WAIT: `${ACK_WAIT_MS}ms` }, { callout: true });
}, 60_000);
afterAll(() => broker?.close());

type User = { id: string; name: string; token: string };
interface Me {
  nats: { stream: string; api_prefix: string; inbox_prefix: string; consumers: { name: string; durable_name: string }[] };
}

async function me(u: User): Promise<Me> {
  const res = await callApi(broker.url, u.token, "GET", "/me");
  expect(res.status).toBe(200);
  return res.body as Me;
}

function connectAs(u: User, m: Me): Promise<NatsConnection> {
  return connect({ servers: broker.nats.url, token: u.token, inboxPrefix: m.nats.inbox_prefix, maxReconnectAttempts: 0 });
}

/** Collects what arrives on `subject` for `ms`. */
async function collect(nc: NatsConnection, subject: string, ms: number): Promise<string[]> {
  const got: string[] = [];
  const sub = nc.subscribe(subject, { callback: (_e, m) => void got.push(new TextDecoder().decode(m.data)) });
  await nc.flush();
  return new Promise((resolve) =>
    setTimeout(() => {
      sub.unsubscribe();
      resolve(got);
    }, ms),
  );
}

/**
 * Alice and Mallory connected over NATS, one delivery (with `marker`) waiting in Mallory's own
 * durable, and what a pull request for it looks like.
 */
async function injectionSetUp() {
  const [alice, mallory] = [await broker.user(), await broker.user()];
  const [aliceMe, malloryMe] = [await me(alice), await me(mallory)];
  const own = await callApi(broker.url, mallory.token, "POST", "/endpoints", { path: `u/${mallory.name}/gh`, provider: "github" });
  expect(own.status).toBe(201);
  const marker = randomUUID();
  expect((await postGithub(`${broker.url}/webhook/u/${mallory.name}/gh`, { secret: own.body.secret, body: JSON.stringify({ marker }) })).status).toBe(202);
  const aliceNc = await connectAs(alice, aliceMe);
  const malloryNc = await connectAs(mallory, malloryMe);
  const durable = malloryMe.nats.consumers.find((c) => c.name === "default")!.durable_name;
  const c = await jetstream(malloryNc, { apiPrefix: malloryMe.nats.api_prefix }).consumers.get(malloryMe.nats.stream, durable);
  // The delivery is waiting in his durable (its filters follow his new endpoint).
  await me(mallory);
  await expect.poll(async () => (await c.info()).num_pending, { timeout: 10_000 }).toBeGreaterThan(0);
  return {
    alice,
    aliceMe,
    aliceNc,
    malloryNc,
    marker,
    consumer: c,
    /** A pull of one message from Mallory's durable, answered to `reply`. */
    pullTo: (reply: string) => malloryNc.publish(`${malloryMe.nats.api_prefix}.CONSUMER.MSG.NEXT.${malloryMe.nats.stream}.${durable}`, JSON.stringify({ batch: 1, expires: 1_000_000_000 }), { reply }),
    async close() {
      await aliceNc.close();
      await malloryNc.close().catch(() => {});
    },
  };
}

describe("attack 5, inbox injection over NATS", () => {
  it("a pull with another user's inbox as reply delivers nothing to him; the same pull to one's own inbox works", async () => {
    const t = await injectionSetUp();
    try {
      // Alice listens on everything she may: her whole inbox prefix.
      const aliceGot = collect(t.aliceNc, `${t.aliceMe.nats.inbox_prefix}.>`, 3_000);
      // Mallory knows her user id (it is in shared endpoints' owner field), not her inbox token:
      // he aims at the prefix as it was built before (id only) and at the id with some token.
      expect(t.aliceMe.nats.inbox_prefix).toMatch(/^_INBOX_[0-9a-f]{32}_[0-9a-f]{32}$/);
      const id = t.alice.id.replace(/-/g, "");
      for (const target of [`_INBOX_${id}.x`, `_INBOX_${id}_${"0".repeat(32)}.x`]) t.pullTo(target);
      await t.malloryNc.flush().catch(() => {});
      expect((await aliceGot).filter((s) => s.includes(t.marker))).toEqual([]);

      // Positive control: the same pull with his own inbox as reply hands him the message.
      const m = await t.consumer.next({ expires: 5_000 });
      expect(m?.string()).toContain(t.marker);
      m?.ack();
    } finally {
      await t.close();
    }
  });

  it("the inbox token is the whole defence: aimed at another user's real inbox prefix, the same pull delivers there (nats-server has no permission on reply subjects)", async () => {
    const t = await injectionSetUp();
    try {
      const aliceGot = collect(t.aliceNc, `${t.aliceMe.nats.inbox_prefix}.>`, 3_000);
      // Had Mallory learnt Alice's inbox prefix (it is shown only to her), the server would let him aim at it.
      t.pullTo(`${t.aliceMe.nats.inbox_prefix}.x`);
      await t.malloryNc.flush();
      expect((await aliceGot).filter((s) => s.includes(t.marker))).toHaveLength(1);
    } finally {
      await t.close();
    }
  });
});

describe("per-connection limits of callout users", () => {
  /** Status errors the connection reports, as text. */
  function errorsOf(nc: NatsConnection): string[] {
    const seen: string[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === "error") seen.push(String((s as { error?: unknown }).error));
    })();
    return seen;
  }

  it("more subscriptions than the CLIENTS account allows are refused; within the limit they work", async () => {
    const u = await broker.user();
    const m = await me(u);
    const nc = await connectAs(u, m);
    const seen = errorsOf(nc);
    try {
      for (let i = 0; i < 200; i++) nc.subscribe(`${m.nats.inbox_prefix}.ok${i}`);
      await nc.flush();
      expect(seen).toEqual([]);
      for (let i = 0; i < 100; i++) nc.subscribe(`${m.nats.inbox_prefix}.over${i}`);
      await nc.flush().catch(() => {});
      await expect.poll(() => seen.join("\n"), { timeout: 5_000 }).toMatch(/maximum subscriptions exceeded/);
    } finally {
      await nc.close().catch(() => {});
    }
  });

  it("a publish above the CLIENTS account's max_payload (64 KiB) is refused by the server; a small one is not", async () => {
    const u = await broker.user();
    const m = await me(u);
    // The server tells the client the account's limit after authentication; nats.js then refuses
    // such a publish itself.
    const nc = await connectAs(u, m);
    expect(nc.info?.max_payload).toBe(64 * 1024);
    await nc.close();
    // A client that ignores it (a raw socket) is cut off by the server.
    const ack = `$JS.ACK.${m.nats.stream}.${m.nats.consumers[0]!.durable_name}.1.1.1.0.0`;
    expect(await rawPublish(u.token, ack, 100)).toMatch(/PONG[\s\S]*PONG/);
    expect(await rawPublish(u.token, ack, 70 * 1024)).toMatch(/-ERR 'Maximum Payload Violation'/);
  });
});

/** Speaks the NATS protocol by hand: CONNECT with the token, one PUB of `size` bytes, PINGs; returns what the server said. */
function rawPublish(token: string, subject: string, size: number): Promise<string> {
  const { hostname, port } = new URL(broker.nats.url);
  return new Promise((resolve, reject) => {
    let got = "";
    let sent = false;
    const socket = netConnect({ host: hostname, port: Number(port) });
    const done = () => {
      socket.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, 5_000);
    socket.on("data", (chunk) => {
      got += chunk.toString();
      if (!sent && got.includes("INFO ")) {
        sent = true;
        socket.write(`CONNECT ${JSON.stringify({ auth_token: token, verbose: false, pedantic: false, protocol: 1 })}\r\nPING\r\n`);
        socket.write(`PUB ${subject} ${size}\r\n${"x".repeat(size)}\r\nPING\r\n`);
      }
      if (/-ERR|PONG[\s\S]*PONG/.test(got)) {
        clearTimeout(timer);
        done();
      }
    });
    socket.on("error", reject);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

describe("a removed member's unacked delivery", () => {
  it("is not delivered to him again, over NATS or HTTP; another member's copy is, and so is his own endpoint's", async () => {
    const [alice, bob, carol] = [await broker.user(), await broker.user(), await broker.user()];
    const org = `o-${randomUUID().slice(0, 8)}`;
    expect((await callApi(broker.url, alice.token, "POST", "/orgs", { name: org })).status).toBe(201);
    for (const u of [bob, carol]) expect((await callApi(broker.url, alice.token, "POST", `/orgs/${org}/members`, { user: u.name, role: "viewer" })).status).toBe(201);
    const orgEp = await callApi(broker.url, alice.token, "POST", "/endpoints", { path: `o/${org}/ci`, provider: "github", owner: { organization: org } });
    const bobEp = await callApi(broker.url, bob.token, "POST", "/endpoints", { path: `u/${bob.name}/gh`, provider: "github" });
    const [bobMe, carolMe] = [await me(bob), await me(carol)];

    const post = async (path: string, secret: string) => {
      const res = await postGithub(`${broker.url}/webhook/${path}`, { secret, body: JSON.stringify({ n: randomUUID() }) });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: number }).id;
    };
    const orgMsg = await post(orgEp.body.path, orgEp.body.secret);
    const ownMsg = await post(bobEp.body.path, bobEp.body.secret);

    /** Reads over NATS, without acking, whatever arrives within `ms`. */
    const read = async (u: User, m: Me, ms: number) => {
      const nc = await connectAs(u, m);
      try {
        const c = await jetstream(nc, { apiPrefix: m.nats.api_prefix }).consumers.get(m.nats.stream, m.nats.consumers[0]!.durable_name);
        const seen: { seq: number; delivered: number }[] = [];
        for await (const msg of await c.fetch({ max_messages: 10, expires: ms })) seen.push({ seq: msg.seq, delivered: msg.info.deliveryCount });
        return seen;
      } finally {
        await nc.close();
      }
    };
    // Both members take the org's delivery (Bob also his own) and ack nothing.
    await expect.poll(async () => (await read(bob, bobMe, 1_000)).map((x) => x.seq).sort(), { timeout: 10_000 }).toEqual([orgMsg, ownMsg].sort());
    await expect.poll(async () => (await read(carol, carolMe, 1_000)).map((x) => x.seq), { timeout: 10_000 }).toEqual([orgMsg]);

    expect((await callApi(broker.url, alice.token, "DELETE", `/orgs/${org}/members/${bob.name}`)).status).toBe(204);
    // Well past the ack wait: what is pending comes back, except the org's delivery to Bob.
    let bobSeen: number[] = [];
    const readBob = async () => {
      bobSeen = [...bobSeen, ...(await read(bob, await me(bob), 1_000)).map((x) => x.seq)];
      return bobSeen;
    };
    await expect.poll(readBob, { timeout: 6 * ACK_WAIT_MS, interval: 200 }).toContain(ownMsg);
    await expect.poll(async () => read(carol, carolMe, 1_000), { timeout: 6 * ACK_WAIT_MS }).toEqual([{ seq: orgMsg, delivered: 2 }]);
    // His own delivery, taken in the same fetch as the org's, has come back: the org's would
    // have come back by now too. One more read, over NATS and over HTTP.
    expect(await readBob()).not.toContain(orgMsg);
    const http = await callApi(broker.url, bob.token, "GET", "/messages?wait=1s&limit=50");
    expect(http.body.messages.map((m: { id: number }) => m.id)).not.toContain(orgMsg);
  }, 60_000);
});

describe("an endpoint's access changed by PATCH", () => {
  it("reaches the durables and live NATS connections within the bounds, both ways", async () => {
    const [owner, reader, root] = [await broker.user(), await broker.user(), await broker.user({ admin: true })];
    const ep = await callApi(broker.url, owner.token, "POST", "/endpoints", { path: `u/${owner.name}/pub`, provider: "github" });
    expect(ep.status).toBe(201);
    const readerMe = await me(reader);
    const grant = `wh.${ep.body.id.replace(/-/g, "")}.>`;
    const filters = async () => (await callApi(broker.url, reader.token, "GET", "/consumers/default")).body.filter_subjects as string[];
    const nc = await connect({ servers: broker.nats.url, token: reader.token, inboxPrefix: readerMe.nats.inbox_prefix, reconnectTimeWait: 100 });
    const disconnects: number[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === "disconnect") disconnects.push(Date.now());
    })();
    try {
      for (const [isPublic, expected] of [[true, true], [false, false]] as const) {
        const changedAt = Date.now();
        const res = await callApi(broker.url, root.token, "PATCH", `/endpoints/${ep.body.id}`, { public: isPublic });
        expect(res.body).toMatchObject({ public: isPublic, access_changed: true });
        // The durable follows (tested bound 3 s) and the connection is cut for a fresh decision (5 s).
        await expect.poll(async () => (await filters()).includes(grant), { timeout: 3_000, interval: 100 }).toBe(expected);
        await expect.poll(() => disconnects.filter((t) => t >= changedAt).length, { timeout: 5_000, interval: 100 }).toBeGreaterThan(0);
      }
    } finally {
      await nc.close();
    }
  });
});
