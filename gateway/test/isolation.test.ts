/**
 * Tenant isolation (issue 11): each attack an outsider could make with an ordinary API token,
 * performed through the real gateway, a real nats-server with the auth callout and real
 * PostgreSQL, next to a positive control where the rightful owner does the same thing. Each
 * asserts that the victim still receives his delivery and the attacker gets nothing.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callApi, postGithub, pull, startTestBroker, type TestBroker } from "@wb/test-support";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({}, { callout: true });
}, 60_000);
afterAll(() => broker?.close());

type User = { id: string; name: string; token: string };
const api = (who: User, method: string, path: string, body?: unknown) => callApi(broker.url, who.token, method, path, body);
const hex = () => randomBytes(4).toString("hex");

/** Everything the user's default consumer hands out now (acked, so each test sees only its own). */
async function drain(who: User): Promise<{ id: number; endpoint_id: string; webhook_path: string; verified: boolean; event: string }[]> {
  const got = (await pull(broker.url, who.token, "wait=1s&limit=500")).body.messages;
  if (got.length) await callApi(broker.url, who.token, "POST", "/messages/ack", { message_ids: got.map((m: { id: number }) => m.id) });
  return got;
}

/** Creates an endpoint through the API as `who`; returns its id and secret. */
async function endpoint(who: User, body: Record<string, unknown>) {
  const res = await api(who, "POST", "/endpoints", { provider: "github", ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; path: string; secret: string; url_path: string };
}

let alice: User;
let bob: User; // member of acme
let vic: User; // viewer of acme
let mallory: User;
let root: User; // global admin
let acme: string;

beforeAll(async () => {
  [alice, bob, vic, mallory, root] = await Promise.all([broker.user(), broker.user(), broker.user(), broker.user(), broker.user({ admin: true })]);
  acme = `acme-${hex()}`;
  expect((await api(alice, "POST", "/orgs", { name: acme })).status).toBe(201);
  expect((await api(alice, "POST", `/orgs/${acme}/members`, { user: bob.name, role: "member" })).status).toBe(201);
  expect((await api(alice, "POST", `/orgs/${acme}/members`, { user: vic.name, role: "viewer" })).status).toBe(201);
});

describe("attack 1, capture: an endpoint nested under someone else's", () => {
  it("is refused however the path is spelled; the owner keeps receiving, the attacker gets nothing", async () => {
    const root_ = `cap${hex()}`;
    const mine = await endpoint(alice, { path: `${root_}/gh` });
    const spellings = [
      `${root_}/gh/repo1`,
      `/webhook/${root_}/gh/repo1/`,
      `${root_.toUpperCase()}/GH/repo1`,
      `%${root_.charCodeAt(0).toString(16)}${root_.slice(1)}/gh/repo1`,
      `${[...root_].map((ch) => String.fromCodePoint(ch.codePointAt(0)! + 0xfee0)).join("")}/gh/repo1`, // fullwidth
      `${root_}/%67h/repo1`,
      root_, // an ancestor would capture every sub-path alice/gh does not serve
    ];
    for (const path of spellings) {
      const res = await api(mallory, "POST", "/endpoints", { path, provider: "none" });
      expect(res.status, path).toBe(409);
      expect(res.body.error.message).not.toContain(alice.name);
    }
    expect((await api(mallory, "GET", "/endpoints")).body.endpoints.map((e: { path: string }) => e.path)).not.toContain(`${root_}/gh/repo1`);

    // Alice's sender posts to the sub-path: she gets it, Mallory nothing.
    const sent = await postGithub(`${broker.url}/webhook/${root_}/gh/repo1/x`, { secret: mine.secret });
    expect(sent.status).toBe(202);
    const { id } = await sent.json();
    expect((await drain(alice)).map((m) => m.id)).toContain(id);
    expect((await drain(mallory)).map((m) => m.id)).not.toContain(id);

    // Positive control: the owner may nest under her own endpoint.
    const nested = await endpoint(alice, { path: `${root_}/gh/special`, provider: "none" });
    expect(nested.path).toBe(`${root_}/gh/special`);
  });

  it("is refused under an organization's endpoint too; its members keep receiving", async () => {
    const orgEp = await endpoint(alice, { path: `o/${acme}/ci-${hex()}`, owner: { organization: acme } });
    expect((await api(mallory, "POST", "/endpoints", { path: `${orgEp.path}/x`, provider: "none" })).status).toBe(403);
    // Outside the namespace, an org endpoint created by its admin is protected the same way.
    const free = await endpoint(alice, { path: `acme${hex()}/hooks`, owner: { organization: acme } });
    expect((await api(mallory, "POST", "/endpoints", { path: `${free.path}/x`, provider: "none" })).status).toBe(409);

    const sent = await postGithub(`${broker.url}/webhook/${free.path}/x`, { secret: free.secret });
    expect(sent.status).toBe(202);
    const { id } = await sent.json();
    expect((await drain(bob)).map((m) => m.id)).toContain(id);
    expect((await drain(vic)).map((m) => m.id)).toContain(id);
    expect((await drain(mallory)).map((m) => m.id)).not.toContain(id);
  });
});

describe("attack 2, denial: a nested endpoint with the attacker's own secret", () => {
  it("is refused, so the owner's correctly signed deliveries to the sub-path still arrive", async () => {
    const mine = await endpoint(alice, { path: `den${hex()}/gh` });
    const attempt = await api(mallory, "POST", "/endpoints", { path: `${mine.path}/repo1`, provider: "github", secret: "mallorys-own-secret" });
    expect(attempt.status).toBe(409);
    const sent = await postGithub(`${broker.url}/webhook/${mine.path}/repo1/push`, { secret: mine.secret });
    expect(sent.status).toBe(202);
    expect((await drain(alice)).map((m) => m.id)).toContain((await sent.json()).id);
    // Signed with Mallory's secret: Alice's endpoint verifies, so it is refused.
    expect((await postGithub(`${broker.url}/webhook/${mine.path}/repo1/push`, { secret: "mallorys-own-secret" })).status).toBe(401);
    expect(await drain(mallory)).toEqual([]);
  });
});

describe("attack 3, forgery: a public endpoint under someone else's path", () => {
  it("is refused (public is a privilege, and the path is taken); the owner's subscription sees only her own", async () => {
    const mine = await endpoint(alice, { path: `forge${hex()}/gh` });
    const sub = await api(alice, "POST", "/subscriptions", { webhook_path_pattern: `/webhook/${mine.path}/**`, filters: { event_type: ["push"] } });
    expect(sub.status).toBe(201);

    expect((await api(mallory, "POST", "/endpoints", { path: `${mine.path}/forged`, provider: "none", public: true })).status).toBe(403);
    expect((await api(mallory, "POST", "/endpoints", { path: `${mine.path}/forged`, provider: "github", public: true })).status).toBe(403);
    // Not even a global admin may put another owner's endpoint there (the path has one owner).
    const byAdmin = await api(root, "POST", "/endpoints", { path: `${mine.path}/forged`, provider: "none", public: true, owner: { user: mallory.name } });
    expect(byAdmin.status).toBe(409);

    // Mallory posting to the path himself is not verified by Alice's secret.
    expect((await postGithub(`${broker.url}/webhook/${mine.path}/forged`, { secret: "mallory" })).status).toBe(401);
    const real = await postGithub(`${broker.url}/webhook/${mine.path}/real`, { secret: mine.secret });
    expect(real.status).toBe(202);
    const got = await drain(alice);
    expect(got.map((m) => [m.webhook_path, m.verified])).toEqual([[`/webhook/${mine.path}/real`, true]]);
  });
});

describe("attack 4, public spam", () => {
  it("an ordinary user cannot make an endpoint public; unsigned public endpoints need a global admin", async () => {
    const spam = `spam${hex()}`;
    const refused = await api(mallory, "POST", "/endpoints", { path: spam, provider: "none", public: true });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/global admin/);
    expect((await api(mallory, "POST", "/endpoints", { path: spam, provider: "github", public: true })).status).toBe(403);
    // Nothing was created, so nothing unsigned lands in anyone's consumer.
    expect((await fetch(`${broker.url}/webhook/${spam}`, { method: "POST", body: "{}" })).status).toBe(404);

    // Later, by PATCH: the same rule.
    const own = await endpoint(mallory, { path: `${spam}/own` });
    expect((await api(mallory, "PATCH", `/endpoints/${own.id}`, { public: true })).status).toBe(403);
    expect((await api(mallory, "GET", `/endpoints/${own.id}`)).body.public).toBe(false);

    // Positive controls: an org admin for the org's signed endpoints, a global admin for anything.
    expect((await api(alice, "POST", "/endpoints", { path: `${spam}/org-none`, provider: "none", public: true, owner: { organization: acme } })).status).toBe(403);
    const orgPublic = await endpoint(alice, { path: `pub${hex()}`, public: true, owner: { organization: acme } });
    expect(orgPublic).toMatchObject({ public: true });
    expect((await api(bob, "PATCH", `/endpoints/${orgPublic.id}`, { public: false })).status).toBe(403); // a member reads it (outside the org's space)
    const adminNone = await endpoint(root, { path: `pub${hex()}`, provider: "none", public: true });
    const sent = await fetch(`${broker.url}/webhook/${adminNone.path}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(sent.status).toBe(202);
    const { id } = await sent.json();
    expect((await drain(mallory)).map((m) => m.id)).toContain(id);
  });
});

describe("reservations and namespaces", () => {
  it("inside a reservation only its holder creates endpoints, however the path is spelled", async () => {
    const prefix = `github/${acme}`;
    const byMallory = await api(mallory, "POST", "/reservations", { prefix, owner: { organization: acme } });
    expect(byMallory.status, JSON.stringify(byMallory.body)).toBe(403);
    const made = await api(root, "POST", "/reservations", { prefix, owner: { organization: acme } });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ prefix, owner: { type: "organization", name: acme } });

    for (const path of [`${prefix}/x`, `GitHub/${acme.toUpperCase()}/x`, `github/%${acme.charCodeAt(0).toString(16)}${acme.slice(1)}/x`, `${prefix}`]) {
      const res = await api(mallory, "POST", "/endpoints", { path, provider: "none" });
      expect(res.status, path).toBe(403);
      expect(res.body.error.message).not.toMatch(/organization/);
    }
    expect((await api(mallory, "POST", "/endpoints", { path: "github", provider: "none" })).status).toBe(409);
    // Even a global admin cannot give someone else an endpoint inside it.
    expect((await api(root, "POST", "/endpoints", { path: `${prefix}/y`, provider: "github", owner: { user: mallory.name } })).status).toBe(403);

    // The holder's admin and member may; its viewer may not; a sibling prefix is free.
    const repo = await endpoint(alice, { path: `${prefix}/repo`, owner: { organization: acme } });
    await endpoint(bob, { path: `${prefix}/repo2`, owner: { organization: acme } });
    expect((await api(vic, "POST", "/endpoints", { path: `${prefix}/repo3`, provider: "github", owner: { organization: acme } })).status).toBe(403);
    await endpoint(mallory, { path: `github/${acme}x` });

    // A member manages the org's endpoints in its space, not elsewhere.
    expect((await api(bob, "PATCH", `/endpoints/${repo.id}`, { description: "CI for acme" })).status).toBe(200);
    expect((await api(bob, "POST", "/endpoints", { path: `elsewhere${hex()}`, provider: "github", owner: { organization: acme } })).status).toBe(403);

    // Listed for the holder's members and global admins only.
    const seen = async (who: User) => (await api(who, "GET", "/reservations")).body.reservations.map((r: { prefix: string }) => r.prefix);
    expect(await seen(bob)).toContain(prefix);
    expect(await seen(root)).toContain(prefix);
    expect(await seen(mallory)).not.toContain(prefix);
    // Deleting: a global admin; the holder's member sees it (403), a stranger does not (404).
    expect((await api(bob, "DELETE", `/reservations/${made.body.id}`)).status).toBe(403);
    expect((await api(mallory, "DELETE", `/reservations/${made.body.id}`)).status).toBe(404);
    expect((await api(root, "DELETE", `/reservations/${made.body.id}`)).status).toBe(204);
  });

  it("u/<user>/ is the user's own namespace, o/<org>/ the organization's", async () => {
    expect((await api(mallory, "POST", "/endpoints", { path: `u/${alice.name}/gh`, provider: "none" })).status).toBe(403);
    expect((await api(mallory, "POST", "/endpoints", { path: `U/${alice.name.toUpperCase()}/gh`, provider: "none" })).status).toBe(403);
    expect((await api(mallory, "POST", "/endpoints", { path: "u", provider: "none" })).status).toBe(403);
    expect((await api(mallory, "POST", "/endpoints", { path: `o/${acme}/x`, provider: "none" })).status).toBe(403);
    await endpoint(alice, { path: `u/${alice.name}/gh` });
    await endpoint(bob, { path: `o/${acme}/bob-${hex()}`, owner: { organization: acme } });
    // A reservation cannot be made inside a namespace.
    expect((await api(root, "POST", "/reservations", { prefix: `u/${alice.name}/x`, owner: { user: mallory.name } })).status).toBe(409);
  });

  it("the path cannot be changed by PATCH (rename), nor the owner", async () => {
    const mine = await endpoint(mallory, { path: `ren${hex()}` });
    const victim = await endpoint(alice, { path: `ren${hex()}/gh` });
    for (const body of [{ path: `${victim.path}/x` }, { owner: { user: alice.name } }, { provider: "none" }, { owner_user_id: alice.id }]) {
      const res = await api(mallory, "PATCH", `/endpoints/${mine.id}`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await api(mallory, "GET", `/endpoints/${mine.id}`)).body.path).toBe(mine.path);
  });
});

describe("audit log over the API", () => {
  it("records who changed access, from where; global admins read all, org admins their org's, others nothing", async () => {
    const ep = await endpoint(alice, { path: `aud${hex()}`, owner: { organization: acme } });
    expect((await api(alice, "PATCH", `/endpoints/${ep.id}`, { public: true })).status).toBe(200);
    expect((await api(alice, "PATCH", `/orgs/${acme}/members/${vic.name}`, { role: "member" })).status).toBe(200);

    const all = await api(root, "GET", "/audit?limit=1000");
    expect(all.status).toBe(200);
    const about = all.body.entries.filter((e: { target: { id: string } }) => e.target.id === ep.id);
    expect(about.map((e: { action: string }) => e.action)).toEqual(["endpoint.updated", "endpoint.created"]);
    expect(about[0]).toMatchObject({
      actor: { user_id: alice.id, name: alice.name, via: "api", source: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$|^::1$/) },
      organization_id: expect.any(String),
      details: { changed: { public: { from: false, to: true } } },
    });
    expect(all.body.entries.some((e: { action: string; details: { to?: string } }) => e.action === "member.role_changed" && e.details.to === "member")).toBe(true);

    // Tokens and users changed over the API are recorded too (never the token itself).
    const tok = await api(alice, "POST", "/tokens", { name: "ci" });
    expect(tok.status).toBe(201);
    expect((await api(alice, "DELETE", `/tokens/${tok.body.id}`)).status).toBe(204);
    const temp = await broker.user();
    expect((await api(root, "PATCH", `/users/${temp.name}`, { disabled: true })).status).toBe(200);
    const later = (await api(root, "GET", "/audit?limit=10")).body.entries;
    expect(later.slice(0, 3).map((e: { action: string; target: { id: string }; actor: { name: string } }) => [e.action, e.target.id, e.actor.name])).toEqual([
      ["user.disabled", temp.id, root.name],
      ["token.revoked", tok.body.id, alice.name],
      ["token.created", tok.body.id, alice.name],
    ]);
    expect(JSON.stringify(later)).not.toContain(tok.body.token);

    // An org admin reads his organization's entries only; a member, a viewer, an outsider get 403.
    const orgView = await api(alice, "GET", "/audit?limit=1000");
    expect(orgView.status).toBe(200);
    expect(new Set(orgView.body.entries.map((e: { organization_id: string }) => e.organization_id))).toEqual(new Set([about[0].organization_id]));
    for (const who of [bob, mallory]) expect((await api(who, "GET", "/audit")).status).toBe(403);
    expect((await api(mallory, "GET", `/audit?organization=${acme}`)).status).toBe(404);
  });
});

describe("small holes", () => {
  it("a replay's consumer ends with the request, and one user runs at most 4 replays at once (429 beyond)", async () => {
    const { jetstreamManager } = await import("@nats-io/jetstream");
    const jsm = await jetstreamManager(await broker.admin());
    const ephemeral = async () => {
      const names: string[] = [];
      for await (const c of jsm.consumers.list(broker.config.STREAM_NAME)) if (!c.name.startsWith("u_")) names.push(c.name);
      return names;
    };
    const u = await broker.user();
    const ep = await endpoint(u, { path: `u/${u.name}/replay` });
    const sent = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret });
    const { id } = await sent.json();
    const before = await ephemeral();
    const one = await api(u, "GET", `/messages?after_id=${id - 1}`);
    expect(one.body.messages.map((m: { id: number }) => m.id)).toEqual([id]);
    expect(await ephemeral()).toEqual(before);

    // Eight long-polls at once past the end of the stream: four run, four get 429 at once.
    const results = await Promise.all(Array.from({ length: 8 }, () => api(u, "GET", `/messages?after_id=${id + 1_000_000}&wait=2s`)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 429, 429, 429, 429]);
    expect(results.find((r) => r.status === 429)!.body.error.code).toBe("rate_limited");
    expect(await ephemeral()).toEqual(before);
    // Another user is not held up by him.
    expect((await api(alice, "GET", `/messages?after_id=${id}`)).status).toBe(200);
  });

  it("API bodies over 1 MiB are refused with 413, declared or chunked", async () => {
    const big = JSON.stringify({ name: "x".repeat(1024 * 1024) });
    const declared = await fetch(`${broker.url}/api/v1/orgs`, { method: "POST", headers: { authorization: `Bearer ${alice.token}`, "content-type": "application/json" }, body: big });
    expect(declared.status).toBe(413);
    expect((await declared.json()).error.code).toBe("payload_too_large");
    const chunked = await fetch(`${broker.url}/api/v1/orgs`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice.token}`, "content-type": "application/json" },
      body: new Blob([big]).stream(),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    // Just under the cap is parsed (and refused for what it says, not for its size).
    expect((await api(alice, "POST", "/orgs", { name: "x".repeat(1000) })).status).toBe(400);
  });

  it("answers 400/404, never 500, for a 36-dash id, a NUL byte in a name, a start time of year 0", async () => {
    expect((await api(alice, "GET", `/endpoints/${"-".repeat(36)}`)).status).toBe(404);
    expect((await api(alice, "GET", "/orgs/a%00b")).status).toBe(404);
    expect((await api(alice, "POST", "/orgs", { name: "a\u0000b" })).status).toBe(400);
    expect((await api(alice, "POST", "/endpoints", { path: "x", provider: "github", owner: { organization: "a\u0000b" } })).status).toBe(404);
    expect((await api(root, "POST", "/reservations", { prefix: "nul", owner: { user: "a\u0000b" } })).status).toBe(404);
    for (const time of ["0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z"]) {
      const res = await api(alice, "POST", "/consumers", { name: `c${hex()}`, start: { time } });
      expect(res.status, time).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
    }
    expect((await api(alice, "POST", "/consumers", { name: `c${hex()}`, start: { time: "2026-01-01T00:00:00Z" } })).status).toBe(201);
  });
});
