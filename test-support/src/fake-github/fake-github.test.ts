/**
 * The fake GitHub answers like GitHub: the OAuth web flow with PKCE, the device flow with its
 * polling errors, expiring tokens with single-use refresh tokens, the REST shapes, and GitHub's
 * error answers (401 bad credentials, 404 for a private repository, 403 rate limit with reset).
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeGitHub, type FakeGitHub } from "./server.js";

let gh: FakeGitHub;
const callback = "http://127.0.0.1:9/auth/github/callback";
beforeAll(async () => {
  gh = await startFakeGitHub({ callbackUrl: callback });
  gh.user("octocat", "The Octocat");
  gh.user("hubot");
  gh.org("acme");
  gh.setMembership("acme", "octocat", "admin");
  gh.repo("acme/secret", { private: true });
  gh.repo("acme/open", { private: false });
  gh.setRepoAccess("acme/secret", "octocat", "push");
});
afterAll(() => gh?.close());

const form = (url: string, body: Record<string, string>, accept = "application/json") =>
  fetch(url, { method: "POST", headers: { accept, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(body) });

async function webLogin(login: string, scope = "read:org repo"): Promise<string> {
  gh.signInBrowser(login);
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const authorize = new URL(`${gh.url}/login/oauth/authorize`);
  for (const [k, v] of Object.entries({ client_id: gh.clientId, redirect_uri: callback, scope, state: "st", code_challenge: challenge, code_challenge_method: "S256" })) authorize.searchParams.set(k, v);
  const res = await fetch(authorize, { redirect: "manual" });
  expect(res.status).toBe(302);
  const back = new URL(res.headers.get("location")!);
  expect(back.searchParams.get("state")).toBe("st");
  const code = back.searchParams.get("code")!;
  const token = await (await form(`${gh.url}/login/oauth/access_token`, { client_id: gh.clientId, client_secret: gh.clientSecret, code, redirect_uri: callback, code_verifier: verifier })).json();
  expect(token).toMatchObject({ token_type: "bearer", scope });
  return token.access_token;
}

const get = (path: string, token?: string) => fetch(`${gh.apiUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}`, accept: "application/vnd.github+json" } : {} });

describe("fake GitHub", () => {
  it("web flow: authorize redirects back with code and state; the code (with the PKCE verifier) gives a token once", async () => {
    const token = await webLogin("octocat");
    const me = await (await get("/user", token)).json();
    expect(me).toMatchObject({ login: "octocat", name: "The Octocat", type: "User" });
    expect(typeof me.id).toBe("number");
  });

  it("refuses a wrong PKCE verifier, a reused code and wrong client credentials with GitHub's 200 + error bodies", async () => {
    gh.signInBrowser("octocat");
    const challenge = createHash("sha256").update("right").digest("base64url");
    const res = await fetch(`${gh.url}/login/oauth/authorize?client_id=${gh.clientId}&state=s&code_challenge=${challenge}&code_challenge_method=S256`, { redirect: "manual" });
    const code = new URL(res.headers.get("location")!).searchParams.get("code")!;
    const wrong = await form(`${gh.url}/login/oauth/access_token`, { client_id: gh.clientId, client_secret: gh.clientSecret, code, code_verifier: "wrong" });
    expect(wrong.status).toBe(200);
    expect((await wrong.json()).error).toBe("bad_verification_code");
    const ok = await (await form(`${gh.url}/login/oauth/access_token`, { client_id: gh.clientId, client_secret: gh.clientSecret, code, code_verifier: "right" })).json();
    expect(ok.access_token).toMatch(/^gho_/);
    const reused = await (await form(`${gh.url}/login/oauth/access_token`, { client_id: gh.clientId, client_secret: gh.clientSecret, code, code_verifier: "right" })).json();
    expect(reused.error).toBe("bad_verification_code");
    const badSecret = await (await form(`${gh.url}/login/oauth/access_token`, { client_id: gh.clientId, client_secret: "nope", code })).json();
    expect(badSecret.error).toBe("incorrect_client_credentials");
    // Without Accept: application/json GitHub answers form-encoded.
    const plain = await form(`${gh.url}/login/oauth/access_token`, { client_id: gh.clientId, client_secret: "nope", code }, "*/*");
    expect(new URLSearchParams(await plain.text()).get("error")).toBe("incorrect_client_credentials");
  });

  it("authorize: a denied request and a foreign redirect_uri come back as errors with the state", async () => {
    gh.signInBrowser("octocat");
    gh.denyNextAuthorization();
    const denied = await fetch(`${gh.url}/login/oauth/authorize?client_id=${gh.clientId}&state=s1`, { redirect: "manual" });
    expect(Object.fromEntries(new URL(denied.headers.get("location")!).searchParams)).toMatchObject({ error: "access_denied", state: "s1" });
    const foreign = await fetch(`${gh.url}/login/oauth/authorize?client_id=${gh.clientId}&state=s2&redirect_uri=${encodeURIComponent("http://evil.example/cb")}`, { redirect: "manual" });
    const to = new URL(foreign.headers.get("location")!);
    expect(to.origin + to.pathname).toBe(callback);
    expect(to.searchParams.get("error")).toBe("redirect_uri_mismatch");
  });

  it("device flow: pending, slow_down when polled too fast, then the token once approved; denial", async () => {
    const start = await (await form(`${gh.url}/login/device/code`, { client_id: gh.clientId, scope: "read:org" })).json();
    expect(start).toMatchObject({ verification_uri: `${gh.url}/login/device`, expires_in: 900, interval: 1 });
    const poll = async () =>
      (await form(`${gh.url}/login/oauth/access_token`, { client_id: gh.clientId, device_code: start.device_code, grant_type: "urn:ietf:params:oauth:grant-type:device_code" })).json();
    expect((await poll()).error).toBe("authorization_pending");
    const fast = await poll();
    expect(fast).toMatchObject({ error: "slow_down", interval: 6 });
    // Another device, approved before its first poll: the token at once.
    const second = await (await form(`${gh.url}/login/device/code`, { client_id: gh.clientId, scope: "read:org" })).json();
    gh.approveDevice(second.user_code, "hubot");
    const done = await (
      await form(`${gh.url}/login/oauth/access_token`, { client_id: gh.clientId, device_code: second.device_code, grant_type: "urn:ietf:params:oauth:grant-type:device_code" })
    ).json();
    expect(done).toMatchObject({ token_type: "bearer", scope: "read:org" });
    expect((await (await get("/user", done.access_token)).json()).login).toBe("hubot");

    const other = await (await form(`${gh.url}/login/device/code`, { client_id: gh.clientId })).json();
    gh.denyDevice(other.user_code);
    const refused = await (await form(`${gh.url}/login/oauth/access_token`, { client_id: gh.clientId, device_code: other.device_code, grant_type: "urn:ietf:params:oauth:grant-type:device_code" })).json();
    expect(refused.error).toBe("access_denied");
  });

  it("memberships: active ones, paginated with Link headers; one organization's membership or 404", async () => {
    for (let i = 0; i < 3; i++) {
      gh.org(`org${i}`);
      gh.setMembership(`org${i}`, "octocat", "member");
    }
    gh.org("invited");
    gh.setMembership("invited", "octocat", "member", "pending");
    const token = await webLogin("octocat");
    const page1 = await get("/user/memberships/orgs?state=active&per_page=2", token);
    const first = await page1.json();
    expect(first).toHaveLength(2);
    expect(first[0]).toMatchObject({ state: "active", role: "admin", organization: { login: "acme" } });
    const next = /<([^>]+)>; rel="next"/.exec(page1.headers.get("link") ?? "")![1]!;
    const rest = await (await fetch(next, { headers: { authorization: `token ${token}` } })).json();
    expect([...first, ...rest].map((m: any) => m.organization.login)).toEqual(["acme", "org0", "org1", "org2"]);
    expect((await get("/user/memberships/orgs/ACME", token)).status).toBe(200);
    expect((await get("/user/memberships/orgs/invited", token)).status).toBe(200);
    expect((await get("/user/memberships/orgs/nowhere", token)).status).toBe(404);
    // Without read:org an OAuth-app token may not list memberships.
    expect((await get("/user/memberships/orgs", await webLogin("octocat", ""))).status).toBe(403);
  });

  it("repositories: 404 for a private one without access (or without the repo scope), 200 with permissions otherwise", async () => {
    const octocat = await webLogin("octocat");
    const hubot = await webLogin("hubot");
    const secret = await get("/repos/acme/secret", octocat);
    expect(secret.status).toBe(200);
    expect(await secret.json()).toMatchObject({ full_name: "acme/secret", private: true, permissions: { pull: true, push: true, admin: false } });
    const hidden = await get("/repos/acme/secret", hubot);
    expect(hidden.status).toBe(404);
    expect(await hidden.json()).toMatchObject({ message: "Not Found", status: "404" });
    expect((await get("/repos/acme/secret", await webLogin("octocat", "read:org"))).status).toBe(404);
    expect(await (await get("/repos/acme/open", hubot)).json()).toMatchObject({ private: false, permissions: { pull: true, push: false } });
  });

  it("errors: 401 Bad credentials, 403 rate limit with x-ratelimit-reset, 503 while down", async () => {
    const token = await webLogin("octocat");
    const bad = await get("/user", "gho_nothing");
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ message: "Bad credentials", status: "401" });
    const reset = new Date(Date.now() + 60_000);
    gh.setRateLimited(reset);
    const limited = await get("/user", token);
    expect(limited.status).toBe(403);
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(Number(limited.headers.get("x-ratelimit-reset"))).toBe(Math.floor(reset.getTime() / 1000));
    expect((await limited.json()).message).toMatch(/^API rate limit exceeded/);
    gh.setRateLimited(null);
    gh.setDown(true);
    expect((await get("/user", token)).status).toBe(503);
    gh.setDown(false);
    gh.revokeTokensOf("octocat");
    expect((await get("/user", token)).status).toBe(401);
  });

  it("expiring tokens: a refresh token works once and yields a new pair; an expired access token is 401", async () => {
    const app = await startFakeGitHub({ callbackUrl: callback, expiringTokens: { accessTtlSeconds: 28_800, refreshTtlSeconds: 15_811_200 } });
    try {
      app.user("mona");
      app.signInBrowser("mona");
      const res = await fetch(`${app.url}/login/oauth/authorize?client_id=${app.clientId}&state=x`, { redirect: "manual" });
      const code = new URL(res.headers.get("location")!).searchParams.get("code")!;
      const first = await (await form(`${app.url}/login/oauth/access_token`, { client_id: app.clientId, client_secret: app.clientSecret, code })).json();
      expect(first).toMatchObject({ expires_in: 28_800, refresh_token_expires_in: 15_811_200 });
      expect(first.access_token).toMatch(/^ghu_/);
      expect(first.refresh_token).toMatch(/^ghr_/);
      app.expireAccessTokensOf("mona");
      expect((await fetch(`${app.apiUrl}/user`, { headers: { authorization: `Bearer ${first.access_token}` } })).status).toBe(401);
      const refresh = (t: string) => form(`${app.url}/login/oauth/access_token`, { client_id: app.clientId, client_secret: app.clientSecret, grant_type: "refresh_token", refresh_token: t }).then((r) => r.json());
      const second = await refresh(first.refresh_token);
      expect(second.access_token).toMatch(/^ghu_/);
      expect((await fetch(`${app.apiUrl}/user`, { headers: { authorization: `Bearer ${second.access_token}` } })).status).toBe(200);
      expect((await refresh(first.refresh_token)).error).toBe("bad_refresh_token");
    } finally {
      await app.close();
    }
  });

  it("a renamed user keeps his numeric id", async () => {
    const before = await (await get("/user", await webLogin("hubot"))).json();
    gh.renameUser("hubot", "hubot2");
    const after = await (await get("/user", await webLogin("hubot2"))).json();
    expect(after).toMatchObject({ id: before.id, login: "hubot2" });
  });

  it("records what was called, never the token", async () => {
    const token = await webLogin("octocat");
    const n = gh.count("/api/v3/user", "octocat");
    await get("/user", token);
    expect(gh.count("/api/v3/user", "octocat")).toBe(n + 1);
    expect(JSON.stringify(gh.calls)).not.toContain(token);
  });
});
