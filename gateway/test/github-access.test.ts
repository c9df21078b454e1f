/**
 * Access that follows GitHub, end to end: the real gateway, nats-server with the auth callout,
 * PostgreSQL and the fake GitHub. Organization roles come from GitHub at sign-in; removal on
 * GitHub reaches HTTP reads and live NATS connections within the bound; repository-scoped
 * endpoints follow repository access; GitHub down or rate-limited keeps the cached answer until
 * the TTL, then fails closed with a clear error, and access comes back with GitHub.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { REVOCATION_BOUND_MS } from "@wb/authz";
import { GitHubClient, GitHubSync } from "@wb/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, callApi, signInWithGitHub, startFakeGitHub, startTestBroker, type FakeGitHub, type TestBroker, deliverGithub } from "@wb/test-support";

const TTL_MS = 4_000;
let github: FakeGitHub;
let broker: TestBroker;
let admin: { id: string; name: string; token: string };

beforeAll(async () => {
  github = await startFakeGitHub();
  // An OAuth app that checks private repositories needs the repo scope (see the README's scopes).
  broker = await startTestBroker({ GITHUB_CACHE_TTL: `${TTL_MS}ms`, GITHUB_SCOPES: "read:org repo" }, { callout: true, github });
  admin = await broker.user({ admin: true });
});
afterAll(async () => {
  await broker?.close();
  await github?.close();
});

const id = () => randomBytes(3).toString("hex");

/** A broker organization linked (over HTTP, by a global admin) to a new GitHub organization. */
async function linkedOrg() {
  const name = `team-${id()}`;
  const gh = `Gh-${id()}`;
  github.org(gh);
  expect((await callApi(broker.url, admin.token, "POST", "/orgs", { name })).status).toBe(201);
  const linked = await callApi(broker.url, admin.token, "PATCH", `/orgs/${name}`, { github_org: gh });
  expect(linked.status).toBe(200);
  expect(linked.body.github_org).toBe(gh);
  return { name, gh };
}

/** A GitHub user who signed in through the browser flow; his broker tokens. */
async function signIn(login: string) {
  const res = await signInWithGitHub(broker.url, github, login);
  expect(res.status).toBeLessThan(300);
  return (await res.json()) as { user: { id: string; name: string }; access_token: string; refresh_token: string };
}

/** An endpoint of the organization at `path`, created over HTTP by the global admin; its secret. */
async function orgEndpoint(org: string, path: string, extra: Record<string, unknown> = {}) {
  const res = await callApi(broker.url, admin.token, "POST", "/endpoints", { path, provider: "github", owner: { organization: org }, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; path: string; secret: string; repository: string | null };
}

const deliver = (ep: { path: string; secret: string }) => deliverGithub(broker.url, ep, { body: JSON.stringify({ n: id() }) });

/** Whether the user can read stored message `seq` over HTTP (replay from just before it). */
async function canRead(token: string, seq: number): Promise<boolean> {
  const res = await callApi(broker.url, token, "GET", `/messages?after_id=${seq - 1}&limit=50`);
  expect(res.status).toBe(200);
  return res.body.messages.some((m: { id: number }) => m.id === seq);
}

/** Connects to NATS as the user's token with what /api/v1/me says. */
async function natsAs(token: string): Promise<{ nc: NatsConnection; durable: string; me: any }> {
  const me = (await callApi(broker.url, token, "GET", "/me")).body;
  // No reconnect: a kicked connection stays closed, which is what the tests look for.
  const nc = await connect({ servers: broker.nats.url, token, inboxPrefix: me.nats.inbox_prefix, reconnect: false });
  return { nc, durable: me.nats.consumers.find((c: { name: string }) => c.name === "default").durable_name, me };
}

/** Fetches what the durable has now (up to 10, 1 s), acking each; their stream sequences. */
async function fetchSeqs(nc: NatsConnection, me: any, durable: string): Promise<number[]> {
  const consumer = await jetstream(nc, { apiPrefix: me.nats.api_prefix }).consumers.get(me.nats.stream, durable);
  const seqs: number[] = [];
  for await (const m of await consumer.fetch({ max_messages: 10, expires: 1_000 })) {
    seqs.push(m.seq);
    m.ack();
  }
  return seqs;
}

describe("organizations linked to GitHub", () => {
  it("a GitHub org admin becomes the organization's admin here at sign-in; a member becomes a member", async () => {
    const { name, gh } = await linkedOrg();
    const alice = github.user(`alice-${id()}`);
    const bob = github.user(`bob-${id()}`);
    github.setMembership(gh, alice.login, "admin");
    github.setMembership(gh, bob.login, "member");
    const a = await signIn(alice.login);
    const b = await signIn(bob.login);

    expect((await callApi(broker.url, a.access_token, "GET", `/orgs/${name}`)).body.role).toBe("admin");
    expect((await callApi(broker.url, b.access_token, "GET", `/orgs/${name}`)).body.role).toBe("member");
    const members = (await callApi(broker.url, a.access_token, "GET", `/orgs/${name}/members`)).body.members;
    expect(members.find((m: any) => m.name === a.user.name)).toMatchObject({ role: "admin", source: "github" });

    // Admin and member are GitHub's to give; viewers are added here.
    const viewer = await broker.user();
    expect((await callApi(broker.url, a.access_token, "POST", `/orgs/${name}/members`, { user: viewer.name, role: "viewer" })).status).toBe(201);
    const refused = await callApi(broker.url, a.access_token, "POST", `/orgs/${name}/members`, { user: (await broker.user()).name, role: "member" });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/come from the GitHub organization/);
    expect((await callApi(broker.url, a.access_token, "PATCH", `/orgs/${name}/members/${b.user.name}`, { role: "viewer" })).status).toBe(409);

    // A GitHub user outside the GitHub organization gets nothing (the control).
    const carol = await signIn(github.user(`carol-${id()}`).login);
    expect((await callApi(broker.url, carol.access_token, "GET", `/orgs/${name}`)).status).toBe(404);
  });

  it(`removed from the GitHub org: HTTP reads and the live NATS connection end within the TTL (${TTL_MS} ms) + ${REVOCATION_BOUND_MS} ms`, async () => {
    const { name, gh } = await linkedOrg();
    const ep = await orgEndpoint(name, `github/${gh}/hooks-${id()}`);
    const stays = github.user(`stays-${id()}`);
    const leaves = github.user(`leaves-${id()}`);
    github.setMembership(gh, stays.login, "member");
    github.setMembership(gh, leaves.login, "member");
    const s = await signIn(stays.login);
    const l = await signIn(leaves.login);

    const first = await deliver(ep);
    expect(await canRead(l.access_token, first)).toBe(true);
    const { nc, durable, me } = await natsAs(l.access_token);
    expect(await fetchSeqs(nc, me, durable)).toContain(first);

    const t0 = Date.now();
    github.setMembership(gh, leaves.login, null);
    await Promise.race([nc.closed(), sleep(TTL_MS + REVOCATION_BOUND_MS + 2_000)]);
    expect(nc.isClosed(), "the NATS connection was not closed").toBe(true);
    expect(Date.now() - t0).toBeLessThanOrEqual(TTL_MS + REVOCATION_BOUND_MS);

    const second = await deliver(ep);
    expect(await canRead(l.access_token, second)).toBe(false);
    expect(await canRead(l.access_token, first)).toBe(false);
    expect((await callApi(broker.url, l.access_token, "GET", `/orgs/${name}`)).status).toBe(404);
    // His reconnect is admitted (he is still a user) and reads nothing of the organization's.
    const again = await natsAs(l.access_token);
    try {
      expect(await fetchSeqs(again.nc, again.me, again.durable)).not.toContain(second);
    } finally {
      await again.nc.close();
    }
    // The member who stays still reads both (the control).
    expect(await canRead(s.access_token, second)).toBe(true);
  });
});

describe("repository-scoped endpoints", () => {
  it("a member without read access to the repository never sees its deliveries; access on GitHub opens and closes it", async () => {
    const { name, gh } = await linkedOrg();
    const repo = `secret-${id()}`;
    github.repo(`${gh}/${repo}`, { private: true });
    const reader = github.user(`reader-${id()}`);
    const other = github.user(`other-${id()}`);
    github.setMembership(gh, reader.login, "member");
    github.setMembership(gh, other.login, "member");
    github.setRepoAccess(`${gh}/${repo}`, reader.login, "pull");
    const ep = await orgEndpoint(name, `github/${gh}/${repo}`, { repository_scoped: true });
    expect(ep.repository).toBe(`${gh}/${repo}`);
    const open = await orgEndpoint(name, `github/${gh}/open-${id()}`);
    const r = await signIn(reader.login);
    const o = await signIn(other.login);

    const seq = await deliver(ep);
    const control = await deliver(open);
    await expect.poll(() => canRead(r.access_token, seq), { timeout: TTL_MS * 2 }).toBe(true);
    expect(await canRead(o.access_token, seq)).toBe(false);
    expect(await canRead(o.access_token, control)).toBe(true);
    // Nor over NATS.
    const { nc, durable, me } = await natsAs(o.access_token);
    try {
      expect(await fetchSeqs(nc, me, durable)).not.toContain(seq);
    } finally {
      await nc.close();
    }

    // Granted on GitHub: readable at the next sync; taken away: gone again.
    github.setRepoAccess(`${gh}/${repo}`, other.login, "pull");
    await expect.poll(() => canRead(o.access_token, seq), { timeout: TTL_MS * 2 }).toBe(true);
    github.setRepoAccess(`${gh}/${repo}`, reader.login, null);
    await expect.poll(() => canRead(r.access_token, seq), { timeout: TTL_MS * 2 }).toBe(false);
  });

  it("only under github/<linked org>/<repo> of a linked organization", async () => {
    const { name, gh } = await linkedOrg();
    const outside = await callApi(broker.url, admin.token, "POST", "/endpoints", { path: `o/${name}/x`, provider: "github", owner: { organization: name }, repository_scoped: true });
    expect(outside.status).toBe(400);
    expect(outside.body.error.message).toMatch(new RegExp(`github/${gh}/<repository>`));
    const mine = await broker.user();
    const personal = await callApi(broker.url, mine.token, "POST", "/endpoints", { path: `u/${mine.name}/x`, provider: "github", repository_scoped: true });
    expect(personal.status).toBe(400);
  });
});

describe("GitHub down or rate-limited", () => {
  for (const failure of ["down", "rate-limited"] as const) {
    it(`${failure}: the cached answer holds until the TTL, then access fails closed with a clear error, and comes back with GitHub`, async () => {
      const { name, gh } = await linkedOrg();
      const ep = await orgEndpoint(name, `github/${gh}/ops-${id()}`);
      const erin = github.user(`erin-${id()}`);
      github.setMembership(gh, erin.login, "member");
      const e = await signIn(erin.login);
      const seq = await deliver(ep);
      // A fresh answer with a known lifetime, as the gateway's schedule would record it.
      const client = new GitHubClient({ clientId: github.clientId, clientSecret: github.clientSecret, webUrl: github.url, apiUrl: github.apiUrl, timeoutMs: 5_000 });
      const cached = 6_000;
      await new GitHubSync({ db: broker.database.db, box: broker.box, client, log: { info() {}, warn() {} }, ttlMs: cached }).syncUser(e.user.id);
      const t0 = Date.now();
      if (failure === "down") github.setDown(true);
      else github.setRateLimited(new Date(Date.now() + 120_000));
      try {
        // Cached: still a member, still reads.
        expect(await canRead(e.access_token, seq)).toBe(true);
        expect(Date.now() - t0).toBeLessThan(cached);
        // Then closed, and said so.
        await expect.poll(() => canRead(e.access_token, seq), { timeout: cached + 10_000 }).toBe(false);
        expect(Date.now() - t0).toBeGreaterThanOrEqual(cached - 1_000);
        const org = await callApi(broker.url, e.access_token, "GET", `/orgs/${name}`);
        expect(org.status).toBe(503);
        expect(org.body.error.code).toBe("github_unavailable");
        const me = (await callApi(broker.url, e.access_token, "GET", "/me")).body;
        expect(me.github).toMatchObject({ login: erin.login, status: "unavailable" });
        expect(me.github.message).toMatch(/has ended/);
        // His own things are untouched.
        expect((await fetch(`${broker.url}/api/v1/me`, { headers: bearer(e.access_token) })).status).toBe(200);
      } finally {
        github.setDown(false);
        github.setRateLimited(null);
      }
      await expect.poll(() => canRead(e.access_token, seq), { timeout: TTL_MS * 3 }).toBe(true);
      expect((await callApi(broker.url, e.access_token, "GET", "/me")).body.github.status).toBe("ok");
    }, 60_000);
  }
});
