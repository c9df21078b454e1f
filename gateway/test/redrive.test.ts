/**
 * Redrive (authz durables/redrive.ts) and rewind over the API: the owner's dead letter comes
 * back once to the consumer that gave up on it; everyone else gets 404, like a miss.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addMember, announceGrantsChanged, createOrganization, removeMember } from "@wb/authz";
import { startTestBroker, type TestBroker, ack, callApi, deliverGithub, messageIds, pull } from "@wb/test-support";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ ACK_WAIT: "2s" });
});
afterAll(() => broker?.close());

const api = (token: string, method: string, path: string, body?: unknown) => callApi(broker.url, token, method, path, body);
const deliver = (ep: { path: string; secret: string }, body?: unknown) => deliverGithub(broker.url, ep, body === undefined ? {} : { body: JSON.stringify(body) });

/** Delivers, pulls and terminates `n` messages on the user's default consumer; resolves once all are dead letters. */
async function deadLetters(u: { token: string }, ep: { path: string; secret: string }, n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(await deliver(ep, { n: i, nested: { at: Date.now() } }));
  const got: number[] = [];
  await expect
    .poll(async () => {
      got.push(...messageIds((await pull(broker.url, u.token, "wait=1s&limit=50")).body));
      return [...new Set(got)].sort();
    })
    .toEqual([...ids].sort());
  expect((await api(u.token, "POST", "/messages/term", { message_ids: ids })).body).toEqual({ terminated: ids });
  await expect
    .poll(async () => (await api(u.token, "GET", "/dead-letters")).body.dead_letters.map((d: any) => d.id).sort(), { timeout: 5_000, interval: 100 })
    .toEqual(expect.arrayContaining(ids));
  return ids;
}

describe("redrive", () => {
  it("delivers a dead letter again once, to the same consumer only, linked to the original and recorded; the second answers 409; one dead on two consumers needs consumer=", async () => {
    const u = await broker.user();
    const stranger = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    // A second consumer of his that reads everything: it must not get the copy.
    expect((await api(u.token, "POST", "/consumers", { name: "other", start: "all" })).status).toBe(201);
    const m = (await deadLetters(u, ep, 1))[0]!;
    const original = (await pull(broker.url, u.token, "consumer=other&wait=2s")).body.messages.find((x: any) => x.id === m);
    expect(original).toBeDefined();
    // Dead on both of his consumers: a redrive must say which.
    expect((await api(u.token, "POST", "/messages/term", { message_ids: [m], consumer: "other" })).status).toBe(200);
    await expect.poll(async () => (await api(u.token, "GET", "/dead-letters")).body.dead_letters.length, { timeout: 5_000, interval: 100 }).toBe(2);
    const which = await api(u.token, "POST", `/dead-letters/${m}/redrive`);
    expect(which.status).toBe(400);
    expect(which.body.error.message).toContain("default, other");

    // Denials: another user, with or without naming the consumer, and ids that are no dead letter.
    for (const path of [`/dead-letters/${m}/redrive`, `/dead-letters/${m}/redrive?consumer=default`]) {
      const r = await api(stranger.token, "POST", path);
      expect(r.status, path).toBe(404);
      expect(r.body.error.code).toBe("not_found");
    }
    expect((await api(u.token, "POST", `/dead-letters/${m}/redrive?consumer=nope`)).status).toBe(404);
    expect((await api(u.token, "POST", "/dead-letters/999999999/redrive")).status).toBe(404);
    expect((await api(u.token, "POST", "/dead-letters/x/redrive")).status).toBe(404);

    // The owner.
    const before = Date.now();
    const r = await api(u.token, "POST", `/dead-letters/${m}/redrive?consumer=default`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ consumer: "default", id: m, redriven_by: u.name });
    const copy = r.body.redrive_id as number;
    expect(copy).toBeGreaterThan(m);
    expect(Date.parse(r.body.redriven_at)).toBeGreaterThanOrEqual(before - 1_000);

    const again = await pull(broker.url, u.token, "wait=2s");
    expect(again.body.messages).toHaveLength(1);
    const got = again.body.messages[0];
    expect(got).toMatchObject({ id: copy, redrive_of: m, delivery_count: 1, endpoint_id: ep.id, event: original.event, delivery_id: original.delivery_id, headers: original.headers });
    expect(got.payload).toEqual(original.payload);
    expect(await ack(broker.url, u.token, [copy])).toEqual({ status: 200, body: { acked: [copy] } });

    const twice = await api(u.token, "POST", `/dead-letters/${m}/redrive?consumer=default`);
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe("already_redriven");
    expect(twice.body.error.message).toContain(`by ${u.name}`);

    // Recorded on the dead letter; no other consumer of his, and no replay, sees the copy.
    expect((await api(u.token, "GET", "/dead-letters")).body.dead_letters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ consumer: "default", id: m, redrive_id: copy, redriven_by: u.name, redriven_at: r.body.redriven_at }),
        expect.objectContaining({ consumer: "other", id: m, redrive_id: null, redriven_at: null }),
      ]),
    );
    expect(messageIds((await pull(broker.url, u.token, "consumer=other&wait=1s")).body)).toEqual([]);
    expect(messageIds((await pull(broker.url, u.token, `after_id=${m - 1}&limit=50`)).body)).toEqual([m]);
  });

  it("GET /messages/:id shows the copy to its owner only, linked both ways, with where it stands on his consumer; /raw too", async () => {
    const u = await broker.user();
    const stranger = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const m = (await deadLetters(u, ep, 1))[0]!;
    const copy = (await api(u.token, "POST", `/dead-letters/${m}/redrive`)).body.redrive_id as number;

    const original = await api(u.token, "GET", `/messages/${m}?consumer=default`);
    expect(original.status).toBe(200);
    expect(original.body).toMatchObject({ id: m, endpoint_id: ep.id, consumer: { name: "default", state: "dead_letter", delivery_count: 1, dead_letter: { reason: "terminated", redrive_id: copy } } });
    const before = await api(u.token, "GET", `/messages/${copy}?consumer=default`);
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ id: copy, redrive_of: m, payload: original.body.payload, consumer: { state: "not_delivered", delivery_count: 0, dead_letter: null } });
    expect(before.body).not.toHaveProperty("ack_token");
    const raw = await fetch(`${broker.url}/api/v1/messages/${copy}/raw`, { headers: { authorization: `Bearer ${u.token}` } });
    expect(raw.status).toBe(200);
    expect(raw.headers.get("x-wb-redrive-of")).toBe(String(m));

    // Another user: the copy, the original and their raw bytes are 404s, like ids nobody has.
    for (const path of [`/messages/${copy}`, `/messages/${m}`, `/messages/${copy}?consumer=default`, `/messages/${Number.MAX_SAFE_INTEGER}`]) {
      const r = await api(stranger.token, "GET", path);
      expect(r.status, path).toBe(404);
      expect(r.body.error.code).toBe("message_not_found");
    }
    expect((await fetch(`${broker.url}/api/v1/messages/${copy}/raw`, { headers: { authorization: `Bearer ${stranger.token}` } })).status).toBe(404);
    // His own consumer that does not exist, and a bad id.
    expect((await api(u.token, "GET", `/messages/${copy}?consumer=nope`)).status).toBe(404);
    expect((await api(u.token, "GET", "/messages/0")).status).toBe(400);

    // Delivered, it awaits its ack (delivered once); acked, it says so. Reading changed nothing.
    expect(messageIds((await pull(broker.url, u.token, "wait=2s")).body)).toEqual([copy]);
    expect((await api(u.token, "GET", `/messages/${copy}?consumer=default`)).body.consumer).toMatchObject({ state: "awaiting_ack", delivery_count: 1 });
    expect(await ack(broker.url, u.token, [copy])).toEqual({ status: 200, body: { acked: [copy] } });
    await expect.poll(async () => (await api(u.token, "GET", `/messages/${copy}?consumer=default`)).body.consumer).toMatchObject({ state: "acked", delivery_count: null });
    // Without consumer=: the message alone.
    expect((await api(u.token, "GET", `/messages/${copy}`)).body).not.toHaveProperty("consumer");
  });

  it("a dead letter whose grant is gone is not found; with the grant back it is redriven", async () => {
    const member = await broker.user();
    const org = await createOrganization(broker.database.db, `rd${Date.now()}`);
    await addMember(broker.database.db, org.id, member.id, "member");
    const orgEp = await broker.endpoint({ orgId: org.id });
    const m = (await deadLetters(member, orgEp, 1))[0]!;
    await removeMember(broker.database.db, org.id, member.id);
    await announceGrantsChanged(await broker.admin(), { organization_id: org.id, user_ids: [member.id], change: "member_removed" });
    expect((await api(member.token, "POST", `/dead-letters/${m}/redrive`)).status).toBe(404);
    // Positive control: with the grant back, the same request succeeds.
    await addMember(broker.database.db, org.id, member.id, "member");
    expect((await api(member.token, "POST", `/dead-letters/${m}/redrive`)).status).toBe(200);
  });

  it("bulk by time range: redrives what is not redriven yet, once; another user's request touches none of it", async () => {
    const u = await broker.user();
    const stranger = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const from = new Date(Date.now() - 1_000).toISOString();
    const ids = await deadLetters(u, ep, 3);
    expect((await api(u.token, "POST", `/dead-letters/${ids[0]}/redrive`)).status).toBe(200);

    expect(await api(stranger.token, "POST", "/dead-letters/redrive", { from })).toEqual({ status: 200, body: { redriven: [], gone: [], has_more: false } });
    expect((await api(stranger.token, "POST", "/dead-letters/redrive", { from, consumer: "nope" })).status).toBe(404);
    for (const bad of [{}, { from: "yesterday" }, { from, to: from }, { from, limit: 0 }, { from, user_id: stranger.id }]) {
      const r = await api(u.token, "POST", "/dead-letters/redrive", bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error.code).toBe("invalid_request");
    }

    // Oldest death first; the advisories of one term request are recorded in any order.
    const first = await api(u.token, "POST", "/dead-letters/redrive", { from, limit: 1 });
    expect(first.body).toMatchObject({ redriven: [expect.anything()], has_more: true });
    const rest = await api(u.token, "POST", "/dead-letters/redrive", { from, to: new Date(Date.now() + 60_000).toISOString() });
    expect(rest.body).toMatchObject({ redriven: [expect.anything()], has_more: false });
    expect([first.body.redriven[0].id, rest.body.redriven[0].id].sort()).toEqual([ids[1], ids[2]].sort());
    expect((await api(u.token, "POST", "/dead-letters/redrive", { from })).body.redriven).toEqual([]);

    // Three copies, each once.
    const copies = new Set<number>();
    await expect
      .poll(async () => {
        for (const x of (await pull(broker.url, u.token, "wait=1s&limit=50")).body.messages) copies.add(x.redrive_of);
        return [...copies].sort();
      })
      .toEqual([...ids].sort());
  });
});

describe("rewind", () => {
  it("the owner rewinds his consumer to a sequence or a time; another user's request is not found", async () => {
    const u = await broker.user();
    const stranger = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    expect((await api(u.token, "POST", "/consumers", { name: "ci", start: "all" })).status).toBe(201);
    const sent = [await deliver(ep), await deliver(ep), await deliver(ep)];
    expect(messageIds((await pull(broker.url, u.token, "consumer=ci&wait=2s&limit=10")).body)).toEqual(sent);
    await ack(broker.url, u.token, sent, { consumer: "ci" });

    expect((await api(stranger.token, "POST", "/consumers/ci/rewind", { sequence: sent[1] })).status).toBe(404);
    for (const bad of [{}, { sequence: 0 }, { sequence: 1, time: new Date().toISOString() }, { time: "soon" }]) {
      const r = await api(u.token, "POST", "/consumers/ci/rewind", bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
    }

    const r = await api(u.token, "POST", "/consumers/ci/rewind", { sequence: sent[1] });
    expect(r).toEqual({ status: 200, body: expect.objectContaining({ name: "ci", start: { sequence: sent[1] }, pending: 2, ack_pending: 0 }) });
    expect(messageIds((await pull(broker.url, u.token, "consumer=ci&wait=2s&limit=10")).body)).toEqual(sent.slice(1));
    // The stranger's own consumers are untouched by all this.
    expect((await api(stranger.token, "GET", "/consumers")).body.consumers.map((c: any) => c.name)).not.toContain("ci");

    const byTime = await api(u.token, "POST", "/consumers/ci/rewind", { time: new Date(Date.now() - 3_600_000).toISOString() });
    expect(byTime.body).toMatchObject({ pending: 3 });
    expect(messageIds((await pull(broker.url, u.token, "consumer=ci&wait=2s&limit=10")).body)).toEqual(sent);

    // The default consumer before its first pull has no durable yet: rewind creates it at the start.
    const fresh = await broker.user();
    const freshEp = await broker.endpoint({ userId: fresh.id });
    const f = [await deliver(freshEp), await deliver(freshEp)];
    expect((await api(fresh.token, "POST", "/consumers/default/rewind", { sequence: f[1] })).body).toMatchObject({ pending: 1 });
    expect(messageIds((await pull(broker.url, fresh.token, "wait=2s")).body)).toEqual([f[1]]);
  });
});
