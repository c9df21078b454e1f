import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import { addMember, createOrganization, durableName } from "@wb/authz";
import { startTestBroker, type TestBroker, ack, bearer, expectAllAcked, postGithub, pull, deliverGithub, messageIds } from "@wb/test-support";

let broker: TestBroker;

// A short ack wait so redelivery is observable within a test.
beforeAll(async () => {
  broker = await startTestBroker({ ACK_WAIT: "1500ms" });
});
afterAll(() => broker?.close());

const deliver = (ep: { path: string; secret: string }, event = "push") => deliverGithub(broker.url, ep, { event });

const ids = messageIds;

describe("pull and ack", () => {
  it("delivers, acks, and does not redeliver what was acked", async () => {
    const alice = await broker.user();
    const ep = await broker.endpoint({ userId: alice.id });
    const a = await deliver(ep);
    const b = await deliver(ep);
    const first = await pull(broker.url, alice.token, "limit=10&wait=2s");
    expect(first.status).toBe(200);
    expect(ids(first.body)).toEqual([a, b]);
    expect(first.body.has_more).toBe(false);
    expect(first.body.next_cursor).toBe(String(b));

    expect(await ack(broker.url, alice.token, [a, b])).toEqual({ status: 200, body: { acked: [a, b] } });
    await expectAllAcked(broker.url, alice.token);
  });

  it("answers at once for an id not delivered yet: listed as not_delivered, left to be delivered", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const a = await deliver(ep);
    const b = await deliver(ep);
    expect(ids((await pull(broker.url, u.token, "limit=1&wait=2s")).body)).toEqual([a]);
    // JetStream never answers a settlement of a message the consumer has not handed out: the
    // gateway must not ask (it answered 503 after the publish timeout).
    expect(await ack(broker.url, u.token, [a, b])).toEqual({ status: 200, body: { acked: [a], not_delivered: [b] } });
    expect(ids((await pull(broker.url, u.token, "wait=2s")).body)).toEqual([b]);
    expect(await ack(broker.url, u.token, [b])).toEqual({ status: 200, body: { acked: [b] } });
    await expectAllAcked(broker.url, u.token);
  });

  it("redelivers what was not acked after the ack wait, counting deliveries", async () => {
    const bob = await broker.user();
    const ep = await broker.endpoint({ userId: bob.id });
    const a = await deliver(ep);
    const b = await deliver(ep);
    expect(ids((await pull(broker.url, bob.token, "wait=2s")).body)).toEqual([a, b]);
    const pulledAt = Date.now();
    await ack(broker.url, bob.token, [a]);
    // A long poll returns when b comes back; a lost ack would bring a back first.
    const again = await pull(broker.url, bob.token, "wait=5s");
    expect(ids(again.body)).toEqual([b]);
    expect(again.body.messages[0].delivery_count).toBe(2);
    expect(Date.now() - pulledAt).toBeGreaterThanOrEqual(1_400); // not before the ack wait (1500 ms)
  });

  it("settles by ack_token as well, and refuses handles that are not the caller's", async () => {
    const u = await broker.user();
    const other = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const a = await deliver(ep);
    const b = await deliver(ep);
    const page = await pull(broker.url, u.token, "wait=2s");
    const tokens: string[] = page.body.messages.map((m: any) => m.ack_token);
    expect(tokens).toHaveLength(2);
    for (const t of tokens) expect(t).toMatch(/^\d+\.[A-Za-z0-9_-]{22}$/);

    // Another user's consumer, a forged MAC, a sequence swapped under a valid MAC: all 404.
    const foreign = await ack(broker.url, other.token, [], { ack_tokens: [tokens[0]] });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.message).toBe("ack token not found"); // his consumer exists; the token is not his
    const [seq, mac] = tokens[0]!.split(".");
    expect((await ack(broker.url, u.token, [], { ack_tokens: [`${seq}.${"A".repeat(22)}`] })).status).toBe(404);
    expect((await ack(broker.url, u.token, [], { ack_tokens: [`${Number(seq) + 1000}.${mac}`] })).status).toBe(404);

    expect(await ack(broker.url, u.token, [], { ack_tokens: tokens })).toEqual({ status: 200, body: { acked: [a, b] } });
    await expectAllAcked(broker.url, u.token);
    // Neither ids nor tokens: a clear 400.
    expect((await ack(broker.url, u.token, [])).status).toBe(400);
  });

  it("pages with limit and says has_more", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const sent = [await deliver(ep), await deliver(ep), await deliver(ep)];
    const page1 = await pull(broker.url, u.token, "limit=2&wait=2s");
    expect(ids(page1.body)).toEqual(sent.slice(0, 2));
    expect(page1.body.has_more).toBe(true);
    const page2 = await pull(broker.url, u.token, "limit=2&wait=2s");
    expect(ids(page2.body)).toEqual(sent.slice(2));
    expect(page2.body.has_more).toBe(false);
  });

  it("long-polls: a waiting pull returns as soon as a delivery arrives", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const started = Date.now();
    const waiting = pull(broker.url, u.token, "wait=20s");
    // Deliver only once the pull is waiting on the server.
    const jsm = await jetstreamManager(await broker.admin());
    await expect.poll(async () => (await jsm.consumers.info(broker.config.STREAM_NAME, durableName(u.id)).catch(() => undefined))?.num_waiting ?? 0).toBeGreaterThan(0);
    const id = await deliver(ep);
    const got = await waiting;
    expect(ids(got.body)).toEqual([id]);
    // Returned on arrival, not at the end of the 20 s window.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("acks through a second gateway and after a gateway restart (no per-process state)", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const a = await deliver(ep);
    const b = await deliver(ep);
    const other = await broker.anotherGateway();
    expect(ids((await pull(broker.url, u.token, "wait=2s")).body)).toEqual([a, b]);
    expect((await ack(other.url, u.token, [a])).status).toBe(200);
    await other.close();
    const third = await broker.anotherGateway();
    expect((await ack(third.url, u.token, [b])).status).toBe(200);
    await expectAllAcked(third.url, u.token);
  });

  it("replays forward from after_id without touching ack state", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const sent = [await deliver(ep), await deliver(ep), await deliver(ep)];
    const live = await pull(broker.url, u.token, "wait=2s");
    await ack(broker.url, u.token, ids(live.body));
    const replay = await pull(broker.url, u.token, `after_id=${sent[0]}&limit=10`);
    expect(ids(replay.body)).toEqual(sent.slice(1));
    expect(replay.body.next_cursor).toBe(String(sent[2]));
    const fromStart = await pull(broker.url, u.token, `after_id=0&limit=10`);
    expect(ids(fromStart.body)).toEqual(sent);
    // The durable consumer is unaffected: nothing pending, nothing to come back.
    await expectAllAcked(broker.url, u.token);
  });

  it("validates its input with clear errors", async () => {
    const u = await broker.user();
    for (const q of ["limit=0", "limit=1001", "limit=abc", "wait=soon", "consumer=../x", "after_id=-1"]) {
      const r = await pull(broker.url, u.token, q);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code).toBe("invalid_request");
    }
    // The largest page is accepted (as many as one ack request settles).
    expect((await pull(broker.url, u.token, "limit=1000")).status).toBe(200);
    for (const bad of [[], ["1"], [1.5], [-1]]) {
      expect((await ack(broker.url, u.token, bad)).status).toBe(400);
    }
    const mass = await ack(broker.url, u.token, [1], { owner_id: "x" });
    expect(mass.status).toBe(400);
  });
});

describe("who reads what", () => {
  it("requires a valid token", async () => {
    for (const headers of [{}, { authorization: "Bearer whb_nope" }, { authorization: "Basic abc" }] as Record<string, string>[]) {
      const res = await fetch(`${broker.url}/api/v1/messages`, { headers });
      expect(res.status).toBe(401);
      expect((await res.json()).error).toMatchObject({ code: "unauthenticated", request_id: expect.any(String) });
    }
  });

  it("keeps one user's deliveries from another: no pull, no replay, no ack, ids look missing", async () => {
    const owner = await broker.user();
    const outsider = await broker.user();
    const ep = await broker.endpoint({ userId: owner.id });
    const id = await deliver(ep);
    // Stored after the owner's: had the outsider been shown the owner's, it would come first.
    const his = await deliver(await broker.endpoint({ userId: outsider.id }));

    expect(ids((await pull(broker.url, outsider.token, "wait=2s")).body)).toEqual([his]);
    expect(ids((await pull(broker.url, outsider.token, `after_id=${id - 1}`)).body)).toEqual([his]);
    const foreign = await ack(broker.url, outsider.token, [id]);
    const missing = await ack(broker.url, outsider.token, [id + 1_000_000]);
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    // Same shape for a foreign id as for one that does not exist.
    expect(foreign.body.error.code).toBe(missing.body.error.code);
    expect(foreign.body.error.message.replace(String(id), "N")).toBe(missing.body.error.message.replace(String(id + 1_000_000), "N"));

    // The outsider's attempt did not ack it: the owner still receives it.
    expect(ids((await pull(broker.url, owner.token, "wait=2s")).body)).toContain(id);
  });

  it("lets organization members read the organization's endpoints, and everyone read public ones", async () => {
    const member = await broker.user();
    const outsider = await broker.user();
    const org = await createOrganization(broker.database.db, `org${Date.now()}`);
    await addMember(broker.database.db, org.id, member.id, "viewer");
    const orgEp = await broker.endpoint({ orgId: org.id });
    const admin = await broker.user({ admin: true });
    const publicEp = await broker.endpoint({ userId: admin.id }, { isPublic: true });

    const o = await deliver(orgEp);
    const p = await deliver(publicEp);
    expect(ids((await pull(broker.url, member.token, "wait=2s&limit=50")).body)).toEqual(expect.arrayContaining([o, p]));
    const seen = ids((await pull(broker.url, outsider.token, "wait=2s&limit=50")).body);
    expect(seen).toContain(p);
    expect(seen).not.toContain(o);
  });

  it("hides endpoints a user may not read, with the same 404 as a true miss", async () => {
    const owner = await broker.user();
    const outsider = await broker.user();
    const ep = await broker.endpoint({ userId: owner.id });
    const get = (token: string, id: string) => fetch(`${broker.url}/api/v1/endpoints/${id}`, { headers: bearer(token) });
    expect((await get(owner.token, ep.id)).status).toBe(200);
    const foreign = await get(outsider.token, ep.id);
    const none = await get(outsider.token, "00000000-0000-0000-0000-000000000000");
    expect(foreign.status).toBe(404);
    expect(none.status).toBe(404);
    const del = await fetch(`${broker.url}/api/v1/endpoints/${ep.id}`, { method: "DELETE", headers: bearer(outsider.token) });
    expect(del.status).toBe(404);
    const list = await (await fetch(`${broker.url}/api/v1/endpoints`, { headers: bearer(outsider.token) })).json();
    expect(list.endpoints.map((e: any) => e.id)).not.toContain(ep.id);
  });
});

describe("endpoints API", () => {
  it("creates an endpoint, shows its secret once, and ingest works at once", async () => {
    const u = await broker.user();
    const res = await fetch(`${broker.url}/api/v1/endpoints`, {
      method: "POST",
      headers: { ...bearer(u.token), "content-type": "application/json" },
      body: JSON.stringify({ path: `/webhook/api/${u.name}`, provider: "github" }),
    });
    expect(res.status).toBe(201);
    const created = await res.json();
    expect(created.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(created.owner).toEqual({ type: "user", id: u.id });
    const shown = await (await fetch(`${broker.url}/api/v1/endpoints/${created.id}`, { headers: bearer(u.token) })).json();
    expect(shown.secret).toBeUndefined();
    expect(JSON.stringify(shown)).not.toContain(created.secret);
    // The secret is sealed at rest.
    const row = await broker.database.pool.query("select secret_enc from endpoints where id = $1", [created.id]);
    expect(row.rows[0].secret_enc).not.toContain(created.secret);

    const post = await postGithub(`${broker.url}/webhook/api/${u.name}`, { secret: created.secret });
    expect(post.status).toBe(202);
  });

  it("rejects unknown fields, unknown providers, and owners the caller may not act for", async () => {
    const u = await broker.user();
    const other = await broker.user();
    const post = (body: unknown) =>
      fetch(`${broker.url}/api/v1/endpoints`, { method: "POST", headers: { ...bearer(u.token), "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await post({ path: "x/1", provider: "github", owner_id: other.id })).status).toBe(400);
    expect((await post({ path: "x/2", provider: "nope" })).status).toBe(400);
    expect((await post({ path: "x/3", provider: "github", owner: { user: other.name } })).status).toBe(403);
    const dup = { path: `dup/${u.name}`, provider: "github" };
    expect((await post(dup)).status).toBe(201);
    expect((await post(dup)).status).toBe(409);
  });
});
