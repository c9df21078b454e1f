/**
 * GitHub's expiring user tokens (GitHub Apps): the broker renews them with the refresh token
 * before use and stores the new pair sealed; a refused refresh token drops them (sign in again).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGitHubTokens, migrateDatabase, openDatabase, SecretBox, signInGitHubUser, type Database } from "@wb/authz";
import { createTestDatabase, startFakeGitHub, type FakeGitHub, type TestDatabase } from "@wb/test-support";
import { GitHubClient, githubAccessToken } from "../src/index.js";

let github: FakeGitHub;
let tdb: TestDatabase;
let database: Database;
let client: GitHubClient;
const box = new SecretBox(randomBytes(32));

beforeAll(async () => {
  github = await startFakeGitHub({ expiringTokens: { accessTtlSeconds: 28_800, refreshTtlSeconds: 15_811_200 } });
  tdb = await createTestDatabase("ghtok");
  database = openDatabase(tdb.url, { max: 2 });
  await migrateDatabase(database.db);
  client = new GitHubClient({ clientId: github.clientId, clientSecret: github.clientSecret, webUrl: github.url, apiUrl: github.apiUrl, timeoutMs: 5_000 });
});
afterAll(async () => {
  await database?.close();
  await tdb?.drop();
  await github?.close();
});

/** A GitHub user who signed in (device flow, approved before the first poll) and his broker user. */
async function signedIn(login: string) {
  const gh = github.user(login);
  const d = await client.startDevice("");
  github.approveDevice(d.user_code, login);
  const poll = await client.pollDevice(d.device_code);
  if (poll.status !== "approved") throw new Error(poll.status);
  const { user } = await signInGitHubUser(database.db, box, { id: gh.id, login }, poll.tokens);
  return { user, tokens: poll.tokens };
}

describe("githubAccessToken", () => {
  it("returns the stored token while it is valid, without calling GitHub", async () => {
    const { user, tokens } = await signedIn(`keep${randomBytes(3).toString("hex")}`);
    const calls = github.calls.length;
    expect(await githubAccessToken({ db: database.db, box, client }, user.id)).toBe(tokens.accessToken);
    expect(github.calls.length).toBe(calls);
  });

  it("renews an expired token with the refresh token and stores the new pair", async () => {
    const login = `renew${randomBytes(3).toString("hex")}`;
    const { user, tokens } = await signedIn(login);
    github.expireAccessTokensOf(login);
    // What the broker stored says it expired too (its clock, not GitHub's, decides).
    const later = Date.now() + 28_800_000;
    const fresh = await githubAccessToken({ db: database.db, box, client }, user.id, later);
    expect(fresh).toMatch(/^ghu_/);
    expect(fresh).not.toBe(tokens.accessToken);
    expect((await client.user(fresh!)).login).toBe(login);
    const stored = await loadGitHubTokens(database.db, box, user.id);
    expect(stored!.refreshToken).not.toBe(tokens.refreshToken);
  });

  it("drops the tokens when GitHub refuses the refresh token; the person must sign in again", async () => {
    const login = `gone${randomBytes(3).toString("hex")}`;
    const { user } = await signedIn(login);
    github.revokeTokensOf(login);
    expect(await githubAccessToken({ db: database.db, box, client }, user.id, Date.now() + 28_800_000)).toBeNull();
    expect(await loadGitHubTokens(database.db, box, user.id)).toBeNull();
  });

  it("GitHub down: throws, and keeps the stored tokens", async () => {
    const login = `down${randomBytes(3).toString("hex")}`;
    const { user } = await signedIn(login);
    github.setDown(true);
    try {
      await expect(githubAccessToken({ db: database.db, box, client }, user.id, Date.now() + 28_800_000)).rejects.toMatchObject({ kind: "unavailable" });
    } finally {
      github.setDown(false);
    }
    expect(await loadGitHubTokens(database.db, box, user.id)).not.toBeNull();
  });
});
