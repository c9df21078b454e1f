/**
 * The broker's own tokens through the real gateway and PostgreSQL: access JWTs accepted wherever
 * API tokens are, expiry, refresh rotation and reuse detection, logout, the JWKS and key
 * rotation, self-service API tokens and global admins' user management over HTTP.
 */
import { createLocalJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rotateSigningKey } from "@wb/authz";
import { bearer, callApi, postGithub, pull, startTestBroker, type TestBroker } from "@wb/test-support";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(() => broker?.close());

const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${broker.url}${path}`, {
    method: "POST",
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const meStatus = async (token: string) => (await fetch(`${broker.url}/api/v1/me`, { headers: bearer(token) })).status;

describe("access tokens", () => {
  it("an access JWT is accepted like an API token, for the same user, on /api/v1 routes", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const tokens = await broker.signIn(u.id);
    expect(tokens).toMatchObject({ token_type: "Bearer", expires_in: 900 });
    expect(tokens.access_token.split(".")).toHaveLength(3);
    const me = await callApi(broker.url, tokens.access_token, "GET", "/me");
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ id: u.id, name: u.name });
    // Reads the same deliveries with either credential.
    const sent = await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret });
    expect(sent.status).toBe(202);
    const viaJwt = await pull(broker.url, tokens.access_token, "wait=5s");
    expect(viaJwt.status).toBe(200);
    expect(viaJwt.body.messages.map((m: any) => m.endpoint_id ?? m.webhook_path)).toHaveLength(1);
  });

  it("an expired access token is refused with 401; a fresh one of the same session works", async () => {
    const u = await broker.user();
    const old = await broker.signIn(u.id, { now: Date.now() - 16 * 60_000 });
    const res = await fetch(`${broker.url}/api/v1/me`, { headers: bearer(old.access_token) });
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("unauthenticated");
    const fresh = await post("/auth/refresh", { refresh_token: old.refresh_token });
    expect(fresh.status).toBe(200);
    expect(await meStatus((await fresh.json()).access_token)).toBe(200);
  });

  it("a tampered or foreign-signed token is refused", async () => {
    const u = await broker.user();
    const other = await broker.user();
    const { access_token } = await broker.signIn(u.id);
    const [h, p, s] = access_token.split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
    const swapped = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: other.id })).toString("base64url")}.${s}`;
    expect(await meStatus(swapped)).toBe(401);
    expect(await meStatus(access_token)).toBe(200); // control
  });
});

describe("refresh tokens", () => {
  it("each refresh hands out a new pair; reusing an old refresh token revokes the whole session", async () => {
    const u = await broker.user();
    const first = await broker.signIn(u.id);
    const r2 = await post("/auth/refresh", { refresh_token: first.refresh_token });
    expect(r2.status).toBe(200);
    expect(r2.headers.get("cache-control")).toBe("no-store");
    const second = await r2.json();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.session_id).toBe(first.session_id);
    expect(await meStatus(second.access_token)).toBe(200);

    // The first refresh token again: someone else has it. The session ends for everyone.
    const reuse = await post("/auth/refresh", { refresh_token: first.refresh_token });
    expect(reuse.status).toBe(401);
    expect((await reuse.json()).error.code).toBe("refresh_token_reused");
    expect(await meStatus(second.access_token)).toBe(401);
    expect(await meStatus(first.access_token)).toBe(401);
    const next = await post("/auth/refresh", { refresh_token: second.refresh_token });
    expect(next.status).toBe(401);
    expect((await next.json()).error.code).toBe("unauthenticated");
    // Another session of the same user is untouched.
    expect(await meStatus((await broker.signIn(u.id)).access_token)).toBe(200);
  });

  it("unknown or malformed refresh tokens answer 401/400 with a code", async () => {
    const unknown = await post("/auth/refresh", { refresh_token: "whr_" + "A".repeat(43) });
    expect(unknown.status).toBe(401);
    expect((await post("/auth/refresh", { token: "x" })).status).toBe(400);
    expect((await post("/auth/refresh")).status).toBe(400);
  });

  it("a disabled user's refresh is refused, and his access token stops at once", async () => {
    const admin = await broker.user({ admin: true });
    const u = await broker.user();
    const t = await broker.signIn(u.id);
    expect((await callApi(broker.url, admin.token, "PATCH", `/users/${u.name}`, { disabled: true })).status).toBe(200);
    expect(await meStatus(t.access_token)).toBe(401);
    expect((await post("/auth/refresh", { refresh_token: t.refresh_token })).status).toBe(401);
  });
});

describe("logout and sessions", () => {
  it("logout by refresh token or by access token ends only that session", async () => {
    const u = await broker.user();
    const a = await broker.signIn(u.id);
    const b = await broker.signIn(u.id);
    expect((await post("/auth/logout", { refresh_token: a.refresh_token })).status).toBe(204);
    expect(await meStatus(a.access_token)).toBe(401);
    expect(await meStatus(b.access_token)).toBe(200);
    expect((await post("/auth/logout", undefined, bearer(b.access_token))).status).toBe(204);
    expect(await meStatus(b.access_token)).toBe(401);
    expect((await post("/auth/logout")).status).toBe(401);
  });

  it("GET /api/v1/sessions lists his sessions (current marked); DELETE ends one; another user's is not found", async () => {
    const u = await broker.user();
    const other = await broker.user();
    const mine = await broker.signIn(u.id);
    const spare = await broker.signIn(u.id);
    const theirs = await broker.signIn(other.id);
    const list = await callApi(broker.url, mine.access_token, "GET", "/sessions");
    expect(list.status).toBe(200);
    expect(list.body.sessions.map((s: any) => s.id).sort()).toEqual([mine.session_id, spare.session_id].sort());
    expect(list.body.sessions.find((s: any) => s.id === mine.session_id).current).toBe(true);
    expect((await callApi(broker.url, mine.access_token, "DELETE", `/sessions/${theirs.session_id}`)).status).toBe(404);
    expect(await meStatus(theirs.access_token)).toBe(200);
    expect((await callApi(broker.url, mine.access_token, "DELETE", `/sessions/${spare.session_id}`)).status).toBe(204);
    expect(await meStatus(spare.access_token)).toBe(401);
    expect(await meStatus(mine.access_token)).toBe(200);
  });
});

describe("signing keys", () => {
  it("publishes its public keys; a third party verifies an access token with the JWKS alone", async () => {
    const u = await broker.user();
    const { access_token } = await broker.signIn(u.id);
    const res = await fetch(`${broker.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    const jwks = await res.json();
    for (const k of jwks.keys) {
      expect(k).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
      expect(k).not.toHaveProperty("d");
    }
    const { payload } = await jwtVerify(access_token, createLocalJWKSet(jwks), { issuer: "webhook-broker", audience: "webhook-broker", typ: "at+jwt" });
    expect(payload.sub).toBe(u.id);
  });

  it("after a rotation new tokens use the new key, old tokens keep working until the old key's last token expires", async () => {
    const u = await broker.user();
    const before = await broker.signIn(u.id);
    const oldKid = JSON.parse(Buffer.from(before.access_token.split(".")[0]!, "base64url").toString()).kid;
    const fresh = await rotateSigningKey(broker.database.db, broker.box, broker.config.ACCESS_TOKEN_TTL);
    const after = await broker.signIn(u.id);
    expect(JSON.parse(Buffer.from(after.access_token.split(".")[0]!, "base64url").toString()).kid).toBe(fresh.kid);
    expect(await meStatus(after.access_token)).toBe(200);
    expect(await meStatus(before.access_token)).toBe(200);
    const kids = (await (await fetch(`${broker.url}/.well-known/jwks.json`)).json()).keys.map((k: any) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, fresh.kid]));
    const retired = await broker.database.pool.query<{ verify_until: Date }>("select verify_until from signing_keys where kid = $1", [oldKid]);
    expect(retired.rows[0]!.verify_until.getTime()).toBeGreaterThanOrEqual(Date.now() + broker.config.ACCESS_TOKEN_TTL - 5_000);

    // Once the old key's tokens have all expired it leaves the JWKS and verifies nothing.
    await broker.database.pool.query("update signing_keys set verify_until = now() - interval '1 second' where kid = $1", [oldKid]);
    await expect.poll(async () => (await (await fetch(`${broker.url}/.well-known/jwks.json`)).json()).keys.map((k: any) => k.kid), { timeout: 10_000 }).not.toContain(oldKid);
    await expect.poll(() => meStatus(before.access_token), { timeout: 70_000 }).toBe(401);
    expect(await meStatus(after.access_token)).toBe(200);
  }, 90_000);
});

describe("self-service API tokens", () => {
  it("creates a token shown once, lists it with its last use, revokes it; another user's token is not found", async () => {
    const u = await broker.user();
    const other = await broker.user();
    const { access_token } = await broker.signIn(u.id);
    const created = await callApi(broker.url, access_token, "POST", "/tokens", { name: "laptop", expires_in: "30d" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "laptop", status: "active", last_used_at: null });
    expect(created.body.token).toMatch(/^whb_/);
    expect(new Date(created.body.expires_at).getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(await meStatus(created.body.token)).toBe(200);

    const list = await callApi(broker.url, created.body.token, "GET", "/tokens");
    const row = list.body.tokens.find((t: any) => t.id === created.body.id);
    expect(row).toBeDefined();
    expect(row).not.toHaveProperty("token");
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    await expect.poll(async () => (await callApi(broker.url, access_token, "GET", "/tokens")).body.tokens.find((t: any) => t.id === created.body.id).last_used_at).not.toBeNull();
    // Another user's list does not show it; his DELETE does not find it.
    expect((await callApi(broker.url, other.token, "GET", "/tokens")).body.tokens.map((t: any) => t.id)).not.toContain(created.body.id);
    expect((await callApi(broker.url, other.token, "DELETE", `/tokens/${created.body.id}`)).status).toBe(404);
    expect(await meStatus(created.body.token)).toBe(200);

    expect((await callApi(broker.url, access_token, "DELETE", `/tokens/${created.body.id}`)).status).toBe(204);
    expect(await meStatus(created.body.token)).toBe(401);
    expect((await callApi(broker.url, access_token, "DELETE", `/tokens/${created.body.id}`)).status).toBe(404);
  });

  it("refuses bad bodies with 400 and a reason", async () => {
    const u = await broker.user();
    for (const body of [{}, { name: "" }, { name: "x", expires_in: "soon" }, { name: "x", expires_at: "2001-01-01T00:00:00Z" }, { name: "x", user_id: u.id }]) {
      const res = await callApi(broker.url, u.token, "POST", "/tokens", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
    }
  });
});

describe("users over HTTP (global admins)", () => {
  it("an admin lists, creates, disables, enables and makes admin; a non-admin gets 403", async () => {
    const admin = await broker.user({ admin: true });
    const plain = await broker.user();
    expect((await callApi(broker.url, plain.token, "GET", "/users")).status).toBe(403);
    expect((await callApi(broker.url, plain.token, "POST", "/users", { name: "sneaky" })).status).toBe(403);

    const name = `h${Date.now().toString(36)}`;
    const created = await callApi(broker.url, admin.token, "POST", "/users", { name });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, admin: false, disabled: false });
    expect((await callApi(broker.url, admin.token, "POST", "/users", { name })).status).toBe(409);
    expect((await callApi(broker.url, admin.token, "GET", "/users")).body.users.map((x: any) => x.name)).toContain(name);

    expect((await callApi(broker.url, admin.token, "PATCH", `/users/${plain.name}`, { disabled: true })).body.disabled).toBe(true);
    expect(await meStatus(plain.token)).toBe(401);
    expect((await callApi(broker.url, admin.token, "PATCH", `/users/${plain.name}`, { disabled: false })).body.disabled).toBe(false);
    expect(await meStatus(plain.token)).toBe(200);

    expect((await callApi(broker.url, admin.token, "PATCH", `/users/${plain.name}`, { admin: true })).body.admin).toBe(true);
    expect((await callApi(broker.url, plain.token, "GET", "/users")).status).toBe(200);
  });

  it("an admin cannot disable or demote himself", async () => {
    const admin = await broker.user({ admin: true });
    for (const body of [{ disabled: true }, { admin: false }]) {
      const res = await callApi(broker.url, admin.token, "PATCH", `/users/${admin.name}`, body);
      expect(res.status).toBe(409);
    }
    expect(await meStatus(admin.token)).toBe(200);
  });
});
