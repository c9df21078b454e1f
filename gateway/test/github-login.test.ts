/**
 * Sign in with GitHub through the real gateway and PostgreSQL against the fake GitHub: the web
 * flow (state + PKCE, a first login creates the user, a second links, by GitHub id), the browser's
 * cookie, the device flow, GitHub's failures, and a broker without GitHub configured.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, cookiesOf, signInWithGitHub, startFakeGitHub, startTestBroker, type FakeGitHub, type TestBroker } from "@wb/test-support";

let github: FakeGitHub;
let broker: TestBroker;
beforeAll(async () => {
  github = await startFakeGitHub();
  broker = await startTestBroker({}, { github });
});
afterAll(async () => {
  await broker?.close();
  await github?.close();
});

let n = 0;
const ghUser = (prefix = "octo") => github.user(`${prefix}${Date.now().toString(36)}${n++}`);
const me = async (token: string) => {
  const res = await fetch(`${broker.url}/api/v1/me`, { headers: bearer(token) });
  return { status: res.status, body: res.status === 200 ? await res.json() : null };
};
const countUsers = async (githubId: number) => Number((await broker.database.pool.query("select count(*) from users where github_id = $1", [githubId])).rows[0].count);
const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${broker.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });

describe("web flow", () => {
  it("a first login creates the user; a second links to him (by GitHub id), never a duplicate", async () => {
    const gh = ghUser();
    const first = await signInWithGitHub(broker.url, github, gh.login);
    expect(first.status).toBe(201);
    const a = await first.json();
    expect(a.user).toMatchObject({ name: gh.login.toLowerCase(), github_login: gh.login, created: true });
    expect(a).toMatchObject({ token_type: "Bearer", expires_in: 900 });
    expect((await me(a.access_token)).body.user.id).toBe(a.user.id);

    const second = await signInWithGitHub(broker.url, github, gh.login);
    expect(second.status).toBe(200);
    const b = await second.json();
    expect(b.user).toMatchObject({ id: a.user.id, created: false });
    expect(b.session_id).not.toBe(a.session_id);
    expect(await countUsers(gh.id)).toBe(1);
    // The new user is in the audit log, once.
    const audit = await broker.database.pool.query("select action, via, details from audit_log where target_id = $1", [a.user.id]);
    expect(audit.rows).toEqual([{ action: "user.created", via: "api", details: expect.objectContaining({ github_id: gh.id, github_login: gh.login }) }]);
  });

  it("a renamed GitHub account signs into the same user; a broker user who merely has the login's name is not taken over", async () => {
    const gh = ghUser("ren");
    const before = await (await signInWithGitHub(broker.url, github, gh.login)).json();
    const newLogin = `${gh.login}x`;
    github.renameUser(gh.login, newLogin);
    const after = await (await signInWithGitHub(broker.url, github, newLogin)).json();
    expect(after.user).toMatchObject({ id: before.user.id, github_login: newLogin, created: false });

    // Someone made a broker user named like a GitHub login: that GitHub user gets his own account.
    const squatter = await broker.user();
    const victim = github.user(squatter.name);
    const res = await signInWithGitHub(broker.url, github, victim.login);
    const signed = await res.json();
    expect(signed.user.id).not.toBe(squatter.id);
    expect(signed.user.name).toBe(`${squatter.name}-gh${victim.id}`);
    expect((await me(squatter.token)).body.user.name).toBe(squatter.name);
  });

  it("the callback refuses a missing or foreign state, a declined authorization and a replayed code", async () => {
    const gh = ghUser();
    github.signInBrowser(gh.login);
    const start = await fetch(`${broker.url}/auth/github/login`, { redirect: "manual" });
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get("location")!);
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("scope")).toBe("read:org");
    expect(start.headers.get("set-cookie")).toMatch(/HttpOnly/i);
    const back = await fetch(authorize, { redirect: "manual" });
    const callback = back.headers.get("location")!;

    const noCookie = await fetch(callback, { redirect: "manual" });
    expect(noCookie.status).toBe(400);
    expect((await noCookie.json()).error.code).toBe("invalid_request");
    // Another browser's login cookie does not fit this state.
    const other = await fetch(`${broker.url}/auth/github/login`, { redirect: "manual" });
    expect((await fetch(callback, { headers: { cookie: cookiesOf(other) } })).status).toBe(400);

    const ok = await fetch(callback, { headers: { cookie: cookiesOf(start) } });
    expect(ok.status).toBe(201);
    const replay = await fetch(callback, { headers: { cookie: cookiesOf(start) } });
    expect(replay.status).toBe(400);

    github.denyNextAuthorization();
    const denied = await signInWithGitHub(broker.url, github, gh.login);
    expect(denied.status).toBe(403);
    expect((await denied.json()).error.code).toBe("github_access_denied");
  });

  it("a browser gets a page without tokens and the refresh token as an HttpOnly cookie; refreshing with the cookie rotates it", async () => {
    const gh = ghUser();
    const page = await signInWithGitHub(broker.url, github, gh.login, { accept: "text/html" });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Signed in");
    expect(html).not.toMatch(/whr_|eyJ/);
    const cookie = page.headers.getSetCookie().find((c) => c.startsWith("wb_refresh="))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\/auth/i);

    const refreshed = await post("/auth/refresh", undefined, { cookie: cookie.split(";")[0]! });
    expect(refreshed.status).toBe(200);
    const body = await refreshed.json();
    expect(body).not.toHaveProperty("refresh_token");
    expect((await me(body.access_token)).status).toBe(200);
    const next = refreshed.headers.getSetCookie().find((c) => c.startsWith("wb_refresh="))!;
    expect(next.split(";")[0]).not.toBe(cookie.split(";")[0]);
    // The old cookie again is a reused refresh token: the session ends.
    const reused = await post("/auth/refresh", undefined, { cookie: cookie.split(";")[0]! });
    expect((await reused.json()).error.code).toBe("refresh_token_reused");
    expect((await me(body.access_token)).status).toBe(401);
  });

  it("GitHub tokens are stored sealed, never in the clear", async () => {
    const gh = ghUser();
    const signed = await (await signInWithGitHub(broker.url, github, gh.login)).json();
    const row = (await broker.database.pool.query("select row_to_json(t)::text as row from github_tokens t where user_id = $1", [signed.user.id])).rows[0];
    expect(row.row).not.toMatch(/gho_/);
    expect(row.row).toMatch(/"access_token_enc":"v1\./);
  });

  it("a disabled user cannot sign in", async () => {
    const gh = ghUser();
    const signed = await (await signInWithGitHub(broker.url, github, gh.login)).json();
    await broker.database.pool.query("update users set disabled_at = now() where id = $1", [signed.user.id]);
    const again = await signInWithGitHub(broker.url, github, gh.login);
    expect(again.status).toBe(403);
  });

  it("GitHub down or rate-limited at sign-in: 503 github_unavailable with Retry-After", async () => {
    const gh = ghUser();
    github.signInBrowser(gh.login);
    const start = await fetch(`${broker.url}/auth/github/login`, { redirect: "manual" });
    const back = await fetch(start.headers.get("location")!, { redirect: "manual" });
    github.setDown(true);
    try {
      const res = await fetch(back.headers.get("location")!, { headers: { cookie: cookiesOf(start) } });
      expect(res.status).toBe(503);
      expect((await res.json()).error.code).toBe("github_unavailable");
      expect(res.headers.get("retry-after")).toBeTruthy();
    } finally {
      github.setDown(false);
    }
    github.setRateLimited(new Date(Date.now() + 120_000));
    try {
      const res = await signInWithGitHub(broker.url, github, gh.login);
      expect(res.status).toBe(503);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(60);
    } finally {
      github.setRateLimited(null);
    }
  });
});

describe("device flow", () => {
  it("returns the broker's tokens once the person approves on GitHub", async () => {
    const gh = ghUser("dev");
    const started = await (await post("/auth/github/device", {})).json();
    expect(started).toMatchObject({ user_code: expect.any(String), verification_uri: `${github.url}/login/device`, interval: 1 });
    const poll = () => post("/auth/github/device/token", { device_code: started.device_code });
    const pending = await poll();
    expect(pending.status).toBe(202);
    expect((await pending.json()).status).toBe("authorization_pending");
    github.approveDevice(started.user_code, gh.login);
    // As a client must: wait `interval` seconds between polls (GitHub answers slow_down otherwise).
    let interval = started.interval;
    let res = await poll();
    for (let i = 0; res.status === 202 && i < 10; i++) {
      const body = await res.json();
      if (body.status === "slow_down") interval = body.interval;
      await sleep(interval * 1000);
      res = await poll();
    }
    expect(res.status).toBe(201);
    const signed = await res.json();
    expect(signed.user).toMatchObject({ name: gh.login.toLowerCase(), created: true });
    expect((await me(signed.access_token)).body.user.id).toBe(signed.user.id);
    const sessions = await fetch(`${broker.url}/api/v1/sessions`, { headers: bearer(signed.access_token) });
    expect((await sessions.json()).sessions[0].method).toBe("github_device");
  });

  it("refuses a device code it did not hand out, and a declined one", async () => {
    const forged = await post("/auth/github/device/token", { device_code: "v1.AAAA.BBBB.CCCC" });
    expect(forged.status).toBe(400);
    const started = await (await post("/auth/github/device", {})).json();
    github.denyDevice(started.user_code);
    const res = await post("/auth/github/device/token", { device_code: started.device_code });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("github_access_denied");
  });
});

describe("without GitHub configured", () => {
  it("the sign-in routes answer 404 github_not_configured; API tokens work as before", async () => {
    const plain = await startTestBroker();
    try {
      for (const [method, path] of [["GET", "/auth/github/login"], ["GET", "/auth/github/callback?code=x&state=y"], ["POST", "/auth/github/device"]] as const) {
        const res = await fetch(`${plain.url}${path}`, { method, redirect: "manual" });
        expect(res.status, path).toBe(404);
        expect((await res.json()).error.code).toBe("github_not_configured");
      }
      const u = await plain.user();
      expect((await fetch(`${plain.url}/api/v1/me`, { headers: bearer(u.token) })).status).toBe(200);
    } finally {
      await plain.close();
    }
  });
});
