/**
 * `pnpm cli orgs link` and `orgs sync` against the real PostgreSQL and the fake GitHub: linking
 * reserves github/<org>, sync applies GitHub's memberships (and removals), GitHub down exits 1
 * and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretBox, signInGitHubUser } from "@wb/authz";
import { GitHubClient } from "@wb/gateway";
import { startFakeGitHub, type FakeGitHub } from "@wb/test-support";
import { unique, useCliStack } from "./testing.js";

const t = useCliStack("ghcli");
let github: FakeGitHub;
beforeAll(async () => {
  github = await startFakeGitHub();
});
afterAll(() => github?.close());

const env = () => ({ GITHUB_CLIENT_ID: github.clientId, GITHUB_CLIENT_SECRET: github.clientSecret, GITHUB_URL: github.url, GITHUB_API_URL: github.apiUrl });

/** A GitHub user who signed in (his tokens stored as a sign-in stores them). */
async function signedIn(login: string) {
  const gh = github.user(login);
  const client = new GitHubClient({ clientId: github.clientId, clientSecret: github.clientSecret, webUrl: github.url, apiUrl: github.apiUrl, timeoutMs: 5_000 });
  const d = await client.startDevice("read:org");
  github.approveDevice(d.user_code, login);
  const poll = await client.pollDevice(d.device_code);
  if (poll.status !== "approved") throw new Error(poll.status);
  return (await signInGitHubUser(t.database.db, new SecretBox(t.secretKey), { id: gh.id, login }, poll.tokens)).user;
}

describe("orgs link / sync", () => {
  it("links, reserves github/<org>, and sync applies GitHub's members and removals", async () => {
    const org = unique("acme");
    const gh = unique("Gh");
    github.org(gh);
    expect((await t.cli(["orgs", "create", org])).code).toBe(0);
    const linked = await t.cliJson(["orgs", "link", org, gh]);
    expect(linked).toMatchObject({ name: org, github_org: gh });
    const { reservations } = await t.cliJson(["reservations", "list"]);
    expect(reservations.find((r: any) => r.prefix === `github/${gh}`)?.owner).toMatchObject({ type: "organization", name: org });

    const ann = await signedIn(unique("ann"));
    const ben = await signedIn(unique("ben"));
    github.setMembership(gh, ann.githubLogin!, "admin");
    github.setMembership(gh, ben.githubLogin!, "member");
    const run = await t.cli(["--json", "orgs", "sync", org], env());
    expect(run.code, run.stderr).toBe(0);
    const synced = JSON.parse(run.stdout);
    expect(synced.members).toEqual(expect.arrayContaining([
      { name: ann.name, role: "admin", source: "github" },
      { name: ben.name, role: "member", source: "github" },
    ]));

    github.setMembership(gh, ben.githubLogin!, null);
    const after = JSON.parse((await t.cli(["--json", "orgs", "sync", org], env())).stdout);
    expect(after.members.map((m: any) => m.name)).toEqual([ann.name]);
    // The audit log says GitHub did it.
    const audit = await t.query("select action, via from audit_log where organization_id = (select id from organizations where name = $1) and via = 'github' order by at", [org]);
    expect(audit.map((a) => a.action)).toEqual(["member.added", "member.added", "member.removed"]);

    // By hand, only viewers: a member is refused.
    const hand = await t.cli(["members", "add", org, ben.name, "--role", "member"]);
    expect(hand.code).toBe(1);
    expect(hand.stderr).toMatch(/come from the GitHub organization/);
  });

  it("GitHub down: exit 1 naming who could not be asked; nothing changes", async () => {
    const org = unique("down");
    const gh = unique("Gd");
    github.org(gh);
    await t.cli(["orgs", "create", org]);
    await t.cli(["orgs", "link", org, gh]);
    const cid = await signedIn(unique("cid"));
    github.setMembership(gh, cid.githubLogin!, "member");
    expect((await t.cli(["orgs", "sync", org], env())).code).toBe(0);
    github.setDown(true);
    try {
      const r = await t.cli(["orgs", "sync", org], env());
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${cid.name}: GitHub not available`);
      expect(r.stdout).toContain(cid.name);
    } finally {
      github.setDown(false);
    }
  });

  it("refuses to sync an unlinked organization, and without GitHub configured", async () => {
    const org = unique("plain");
    await t.cli(["orgs", "create", org]);
    expect((await t.cli(["orgs", "sync", org], env())).code).toBe(2);
    const gh = unique("Gx");
    await t.cli(["orgs", "link", org, gh]);
    const r = await t.cli(["orgs", "sync", org]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/GITHUB_CLIENT_ID is required/);
  });
});
