import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { addMember, announceGrantsChanged, createOrganization, endpointGrantSubject, removeMember } from "@wb/authz";
import { startTestBroker, type TestBroker, ack, callApi, expectAllAcked, postGithub, pull } from "@wb/test-support";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ ACK_WAIT: "2s" });
});
afterAll(() => broker?.close());

const api = (token: string, method: string, path: string, body?: unknown) => callApi(broker.url, token, method, path, body);

async function deliver(ep: { path: string; secret: string }, opts: { sub?: string; event?: string; body?: unknown } = {}): Promise<number> {
  const url = `${broker.url}/webhook/${ep.path}${opts.sub ? `/${opts.sub}` : ""}`;
  const res = await postGithub(url, { secret: ep.secret, event: opts.event, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  expect(res.status).toBe(202);
  return (await res.json()).id;
}

/** Ids of the messages on the given endpoints (the file's other tests add their own endpoints). */
const idsOn = (body: any, ...eps: { id: string }[]): number[] =>
  body.messages.filter((m: any) => eps.some((e) => e.id === m.endpoint_id)).map((m: any) => m.id);

async function settle(token: string, kind: string, ids: number[], extra: Record<string, unknown> = {}) {
  return api(token, "POST", `/messages/${kind}`, { message_ids: ids, ...extra });
}

describe("subscriptions", () => {
  it("deliver only what the pattern and event filter select, with event filtering in JetStream", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const created = await api(u.token, "POST", "/subscriptions", { webhook_path_pattern: `/webhook/${ep.path}/ci/*`, filters: { event_type: ["push"] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ consumer: "default", webhook_path_pattern: `/webhook/${ep.path}/ci/*`, filters: { event_type: ["push"] } });

    const wanted = await deliver(ep, { sub: "ci/a" });
    await deliver(ep, { sub: "ci/a", event: "pull_request" });
    await deliver(ep, { sub: "other" });
    await deliver(ep, { sub: "ci/a/deeper" });
    await deliver(ep);
    const got = await pull(broker.url, u.token, "wait=2s&limit=50");
    expect(idsOn(got.body, ep)).toEqual([wanted]);

    const info = await api(u.token, "GET", "/consumers/default");
    // Besides the endpoint's redrive subject (wh.rd.<durable>.<endpoint>), only push deliveries.
    expect(info.body.filter_subjects.filter((s: string) => !s.startsWith("wh.rd.")).every((s: string) => s.includes(".push."))).toBe(true);
    // The event filter is JetStream's: nothing was fetched and dropped by the gateway.
    expect(info.body.filtered).toBe(0);

    const list = await api(u.token, "GET", "/subscriptions");
    expect(list.body.subscriptions.map((s: any) => s.id)).toEqual([created.body.id]);
    expect((await api(u.token, "DELETE", `/subscriptions/${created.body.id}`)).status).toBe(204);
    const after = await deliver(ep, { sub: "other", event: "issues" });
    expect(idsOn((await pull(broker.url, u.token, "wait=2s")).body, ep)).toContain(after);
  });

  it("refuses patterns outside what the user may read (403), allows empty ones inside (201), refuses partial overlaps (409)", async () => {
    const u = await broker.user();
    const other = await broker.user();
    const mine = await broker.endpoint({ userId: u.id });
    const theirs = await broker.endpoint({ userId: other.id });
    const post = (pattern: string, filters?: unknown) => api(u.token, "POST", "/subscriptions", { webhook_path_pattern: pattern, ...(filters ? { filters } : {}) });

    for (const p of [`/webhook/${theirs.path}/**`, "/webhook/gh/*", "/webhook/**", `/webhook/*/${mine.path.split("/")[1]}`]) {
      const r = await post(p);
      expect(r.status, p).toBe(403);
      expect(r.body.error.code).toBe("forbidden");
      expect(r.body.error.message).toMatch(/reaches outside/);
    }
    expect((await post(`/webhook/${mine.path}/not/yet/used`)).status).toBe(201);
    expect((await post(`/webhook/${mine.path}/**`, { event_type: ["push"] })).status).toBe(409);
    expect((await post("/webhook/a/**/b")).status).toBe(400);
    expect((await post(`/webhook/${mine.path}/x-*`)).status).toBe(400);
  });

  it("payload filters: rejected messages are never shown, and are acked and counted", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const sub = await api(u.token, "POST", "/subscriptions", {
      webhook_path_pattern: `/webhook/${ep.path}/**`,
      filters: { payload: { ref: "refs/heads/main", "repository.name": ["a", "b"] } },
    });
    expect(sub.status).toBe(201);
    const yes = await deliver(ep, { body: { ref: "refs/heads/main", repository: { name: "b" } } });
    await deliver(ep, { body: { ref: "refs/heads/dev", repository: { name: "b" } } });
    await deliver(ep, { body: { ref: "refs/heads/main", repository: { name: "c" } } });
    await deliver(ep, { body: [1, 2] });
    expect(idsOn((await pull(broker.url, u.token, "wait=2s&limit=50")).body, ep)).toEqual([yes]);
    await ack(broker.url, u.token, [yes]);
    expect((await api(u.token, "GET", "/consumers/default")).body.filtered).toBe(3);
    // The filtered ones were acked by the gateway: nothing is left to come back. (A pull after
    // the ack wait could not tell: a redelivered filtered message is filtered again.)
    await expectAllAcked(broker.url, u.token);
    expect((await api(u.token, "GET", "/consumers/default")).body.filtered).toBe(3);
  });
});

describe("named consumers", () => {
  it("have independent positions and the chosen start (new, all, time, sequence)", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const m1 = await deliver(ep);
    // m1 was stored before its 202; a start time after it and before m2 (the clock moves on).
    const between = new Date(Date.now() + 1);
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(between.getTime()));
    for (const [name, start] of [["fresh", "new"], ["everything", "all"], ["since", { time: between.toISOString() }], ["fromseq", { sequence: m1 }]] as const) {
      const r = await api(u.token, "POST", "/consumers", { name, start });
      expect(r.status, name).toBe(201);
    }
    const m2 = await deliver(ep);
    const read = async (consumer: string) => idsOn((await pull(broker.url, u.token, `consumer=${consumer}&wait=2s&limit=50`)).body, ep);
    expect(await read("fresh")).toEqual([m2]);
    expect(await read("everything")).toEqual([m1, m2]);
    expect(await read("since")).toEqual([m2]);
    expect(await read("fromseq")).toEqual([m1, m2]);
    // Acks on one consumer do not move another.
    expect((await ack(broker.url, u.token, [m1, m2], { consumer: "everything" })).status).toBe(200);
    expect(await read("default")).toEqual([m1, m2]);

    const list = await api(u.token, "GET", "/consumers");
    expect(list.body.consumers.map((c: any) => c.name)).toEqual(["default", "everything", "fresh", "fromseq", "since"]);
    const info = await api(u.token, "GET", "/consumers/everything");
    expect(info.body).toMatchObject({ name: "everything", start: "all", ack_pending: 0, pending: 0, filtered: 0 });
    expect(info.body.last_active).toEqual(expect.any(String));
    expect((await api(u.token, "POST", "/consumers", { name: "fresh" })).status).toBe(409);
    expect((await api(u.token, "DELETE", "/consumers/fresh")).status).toBe(204);
    expect((await pull(broker.url, u.token, "consumer=fresh")).status).toBe(404);
  });

  it("a message terminated by ack token after a redelivery is a dead letter with its real delivery_count", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const m = await deliver(ep);
    expect(idsOn((await pull(broker.url, u.token, "wait=2s")).body, ep)).toEqual([m]);
    expect((await settle(u.token, "nak", [m])).status).toBe(200);
    const again = await pull(broker.url, u.token, "wait=2s");
    expect(again.body.messages.map((x: any) => [x.id, x.delivery_count])).toEqual([[m, 2]]);
    expect(await settle(u.token, "term", [], { ack_tokens: [again.body.messages[0].ack_token] })).toEqual({ status: 200, body: { terminated: [m] } });
    await expect
      .poll(async () => (await api(u.token, "GET", "/dead-letters")).body.dead_letters, { timeout: 5_000, interval: 100 })
      .toEqual([expect.objectContaining({ id: m, delivery_count: 2, reason: "terminated" })]);
  });

  it("nak (now and with a delay), in_progress and term", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    // e is never settled: its redelivery after the ack wait (2 s) marks the time.
    const [a, b, c, d, e] = [await deliver(ep), await deliver(ep), await deliver(ep), await deliver(ep), await deliver(ep)];
    expect(idsOn((await pull(broker.url, u.token, "wait=2s&limit=5")).body, ep)).toEqual([a, b, c, d, e]);
    const t0 = Date.now();
    expect(await settle(u.token, "nak", [a])).toEqual({ status: 200, body: { naked: [a] } });
    const again = await pull(broker.url, u.token, "wait=1s");
    expect(idsOn(again.body, ep)).toEqual([a]);
    expect(again.body.messages[0].delivery_count).toBe(2);
    await ack(broker.url, u.token, [a]);
    const nakAt = Date.now();
    expect((await settle(u.token, "nak", [b], { delay: "3500ms" })).status).toBe(200);
    expect(await settle(u.token, "term", [c])).toEqual({ status: 200, body: { terminated: [c] } });
    // in_progress well inside d's ack wait, so its new deadline (~2.8 s) is clearly after e's (~2 s).
    await vi.waitFor(() => expect(Date.now() - t0).toBeGreaterThanOrEqual(800), { timeout: 2_000, interval: 20 });
    expect(await settle(u.token, "in_progress", [d])).toEqual({ status: 200, body: { in_progress: [d] } });
    // Without in_progress, d (stored before e) would come back with or before e.
    const marker = await pull(broker.url, u.token, "wait=5s&limit=10");
    expect(idsOn(marker.body, ep)).toEqual([e]);
    expect(marker.body.messages[0].delivery_count).toBe(2);
    await ack(broker.url, u.token, [e]);
    const later: number[] = [];
    let bAt = 0;
    while (later.length < 2 && Date.now() - t0 < 10_000) {
      const got = idsOn((await pull(broker.url, u.token, "wait=5s&limit=10")).body, ep);
      if (got.includes(b)) bAt = Date.now();
      later.push(...got);
    }
    expect(later.sort()).toEqual([b, d].sort());
    expect(bAt - nakAt).toBeGreaterThanOrEqual(3_400); // not before its nak delay
    await ack(broker.url, u.token, later);
    await expectAllAcked(broker.url, u.token);
    // The terminated message is recorded as a dead letter.
    const dead = await api(u.token, "GET", "/dead-letters");
    expect(dead.body.dead_letters).toEqual([expect.objectContaining({ consumer: "default", id: c, reason: "terminated", endpoint_id: ep.id })]);
    // Same ownership checks as ack.
    expect((await settle(u.token, "nak", [999_999_999])).status).toBe(404);
    expect((await settle(u.token, "nak", [a], { delay: "soon" })).status).toBe(400);
    expect((await settle(u.token, "term", [a], { delay: "1s" })).status).toBe(400);
  });

  it("max_deliver: the message is dead-lettered and listed", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    expect((await api(u.token, "POST", "/consumers", { name: "flaky", max_deliver: 2 })).status).toBe(201);
    const m = await deliver(ep);
    expect(idsOn((await pull(broker.url, u.token, "consumer=flaky&wait=2s")).body, ep)).toEqual([m]);
    const second = await pull(broker.url, u.token, "consumer=flaky&wait=5s");
    expect(idsOn(second.body, ep)).toEqual([m]);
    expect(second.body.messages[0].delivery_count).toBe(2);
    // n is delivered right after m's second delivery, so it is due again just after m.
    const n = await deliver(ep);
    expect(idsOn((await pull(broker.url, u.token, "consumer=flaky&wait=2s")).body, ep)).toEqual([n]);
    // JetStream notices m's limit when it next tries to deliver, i.e. on a pull: this one gets
    // n again, and m (due first) would have come before it had it been delivered a third time.
    const third = await pull(broker.url, u.token, "consumer=flaky&wait=5s&limit=10");
    expect(idsOn(third.body, ep)).toEqual([n]);
    expect(third.body.messages[0].delivery_count).toBe(2);
    await ack(broker.url, u.token, [n], { consumer: "flaky" });
    await expect
      .poll(async () => (await api(u.token, "GET", "/dead-letters?consumer=flaky")).body.dead_letters, { timeout: 8_000, interval: 100 })
      .toEqual([expect.objectContaining({ consumer: "flaky", id: m, delivery_count: 2, reason: "max_deliveries", endpoint_id: ep.id })]);
    await expectAllAcked(broker.url, u.token, "flaky");
    expect((await api(u.token, "GET", "/consumers/flaky")).body.dead_letters).toBe(1);
    expect((await api(u.token, "GET", "/dead-letters?consumer=nope")).status).toBe(404);
  });
});

describe("grant changes reach durable consumers", () => {
  it("membership removal stops delivery within 3 s; what he held is settled on his consumer; re-adding resumes, replay shows all", async () => {
    const member = await broker.user();
    const org = await createOrganization(broker.database.db, `o${Date.now()}`);
    await addMember(broker.database.db, org.id, member.id, "member");
    const orgEp = await broker.endpoint({ orgId: org.id });
    const own = await broker.endpoint({ userId: member.id });
    const nc = await broker.admin();
    const filters = async () => (await api(member.token, "GET", "/consumers/default")).body.filter_subjects as string[];
    /** How long until the durable's filters include (or no longer include) the org's endpoint. */
    const followed = async (want: boolean) => {
      const started = Date.now();
      await expect.poll(async () => (await filters()).includes(endpointGrantSubject(orgEp.id)), { timeout: 10_000, interval: 50 }).toBe(want);
      return Date.now() - started;
    };
    const o1 = await deliver(orgEp);
    expect(idsOn((await pull(broker.url, member.token, "wait=2s")).body, orgEp)).toEqual([o1]); // not acked

    await removeMember(broker.database.db, org.id, member.id);
    await announceGrantsChanged(nc, { organization_id: org.id, user_ids: [member.id], change: "member_removed" });
    expect(await followed(false)).toBeLessThan(3_000);
    const o2 = await deliver(orgEp);
    const u1 = await deliver(own);
    // HTTP reads change at once: replay no longer shows the organization's messages (u1,
    // stored after them, is shown).
    const replayed = (await pull(broker.url, member.token, `after_id=${o1 - 1}&limit=50`)).body;
    expect(idsOn(replayed, orgEp)).toEqual([]);
    expect(idsOn(replayed, own)).toEqual([u1]);
    expect(idsOn((await pull(broker.url, member.token, "wait=2s&limit=50")).body, own)).toEqual([u1]); // not acked
    // u1 comes back after its ack wait; o1, delivered earlier, was due before it but must not be shown.
    const during = await pull(broker.url, member.token, "wait=5s&limit=50");
    expect(idsOn(during.body, orgEp)).toEqual([]);
    expect(idsOn(during.body, own)).toEqual([u1]);
    expect(during.body.messages[0].delivery_count).toBe(2);
    await ack(broker.url, member.token, [u1]);

    await addMember(broker.database.db, org.id, member.id, "member");
    await announceGrantsChanged(nc, { organization_id: org.id, user_ids: [member.id], change: "member_added" });
    expect(await followed(true)).toBeLessThan(3_000);
    const o3 = await deliver(orgEp);
    // o1 was pending when he was removed: its grant went away, so it was settled on his
    // consumer (issue 11: not redelivered to him by any transport). o3 arrives.
    const back = new Set<number>();
    await expect
      .poll(
        async () => {
          for (const id of idsOn((await pull(broker.url, member.token, "wait=2s&limit=50")).body, orgEp)) back.add(id);
          return [...back];
        },
        { timeout: 10_000, interval: 0 },
      )
      .toContain(o3);
    expect(back.has(o1)).toBe(false);
    // What was stored while he was out is readable again by replay.
    expect(idsOn((await pull(broker.url, member.token, `after_id=${o1 - 1}&limit=50`)).body, orgEp)).toEqual(expect.arrayContaining([o1, o2, o3]));
  });

  it("subscriptions of a removed grant compile to nothing, never to everything", async () => {
    const member = await broker.user();
    const org = await createOrganization(broker.database.db, `p${Date.now()}`);
    await addMember(broker.database.db, org.id, member.id, "viewer");
    const orgEp = await broker.endpoint({ orgId: org.id });
    expect((await api(member.token, "POST", "/subscriptions", { webhook_path_pattern: `/webhook/${orgEp.path}/**` })).status).toBe(201);
    const m = await deliver(orgEp);
    expect(idsOn((await pull(broker.url, member.token, "wait=2s")).body, orgEp)).toEqual([m]); // the durable exists
    await removeMember(broker.database.db, org.id, member.id);
    const nc = await broker.admin();
    await announceGrantsChanged(nc, { user_ids: [member.id] });
    await expect
      .poll(async () => (await api(member.token, "GET", "/consumers/default")).body.filter_subjects, { timeout: 10_000, interval: 50 })
      .toEqual(["wh.none.none"]);
  });
});

describe("ownership and input", () => {
  it("foreign consumer names and subscription ids are 404, like missing ones", async () => {
    const a = await broker.user();
    const b = await broker.user();
    const ep = await broker.endpoint({ userId: a.id });
    expect((await api(a.token, "POST", "/consumers", { name: "ci" })).status).toBe(201);
    const sub = await api(a.token, "POST", "/subscriptions", { webhook_path_pattern: `/webhook/${ep.path}/**`, consumer: "ci" });
    expect(sub.status).toBe(201);
    const id = await deliver(ep);

    for (const [method, path] of [["GET", "/consumers/ci"], ["DELETE", "/consumers/ci"], ["GET", "/consumers/nope"], ["DELETE", `/subscriptions/${sub.body.id}`], ["DELETE", "/subscriptions/not-a-uuid"], ["DELETE", "/subscriptions/00000000-0000-0000-0000-000000000000"], ["GET", "/dead-letters?consumer=ci"]] as const) {
      const r = await api(b.token, method, path);
      expect(r.status, `${method} ${path}`).toBe(404);
    }
    expect((await pull(broker.url, b.token, "consumer=ci")).status).toBe(404);
    expect((await ack(broker.url, b.token, [id], { consumer: "ci" })).status).toBe(404);
    expect((await api(b.token, "POST", "/subscriptions", { webhook_path_pattern: `/webhook/${ep.path}/**`, consumer: "ci" })).status).toBe(403);
    expect((await api(b.token, "GET", "/subscriptions")).body.subscriptions).toEqual([]);
    // Still there for its owner.
    expect((await api(a.token, "GET", "/consumers/ci")).status).toBe(200);
    expect(idsOn((await pull(broker.url, a.token, "consumer=ci&wait=2s")).body, ep)).toEqual([id]);
  });

  it("rejects mass assignment and malformed bodies with 400", async () => {
    const u = await broker.user();
    const other = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const pattern = `/webhook/${ep.path}/**`;
    for (const extra of [{ owner_id: other.id }, { user_id: other.id }, { filter_subject: "wh.>" }, { filter_subjects: ["wh.>"] }, { consumer_id: "x" }]) {
      const r = await api(u.token, "POST", "/subscriptions", { webhook_path_pattern: pattern, ...extra });
      expect(r.status, JSON.stringify(extra)).toBe(400);
    }
    for (const filters of [{ event_type: [] }, { event_type: "push" }, { payload: {} }, { payload: { a: { b: 1 } } }, { subject: "wh.>" }]) {
      expect((await api(u.token, "POST", "/subscriptions", { webhook_path_pattern: pattern, filters })).status, JSON.stringify(filters)).toBe(400);
    }
    for (const body of [{ name: "x", user_id: other.id }, { name: "x", filter_subject: "wh.>" }, { name: "Bad Name" }, { name: "x", start: "yesterday" }, { name: "x", max_deliver: 0 }, { name: "x", start: { sequence: 0 } }]) {
      expect((await api(u.token, "POST", "/consumers", body)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await api(u.token, "GET", "/subscriptions")).body.subscriptions).toEqual([]);
    expect((await api(u.token, "GET", "/consumers")).body.consumers.map((c: any) => c.name)).not.toContain("x");
  });
});
