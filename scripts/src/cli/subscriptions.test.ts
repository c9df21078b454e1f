/**
 * `subscriptions`, `dead-letters` and the grants announcements of `members` and `users`,
 * against the test harness's real PostgreSQL and nats-server, run in-process through runCli().
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { GRANTS_CHANGED_SUBJECT } from "@wb/authz";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminNats, unique, useCliStack } from "./testing.js";
import { parseEvents, parsePayloadFilter } from "./subscriptions.js";

const { cli, cliJson, query } = useCliStack("clisub");
let nc: NatsConnection;

beforeAll(async () => {
  nc = await adminNats();
});

afterAll(async () => {
  await nc?.close();
});

/** A user with one endpoint of his own; returns his id and the endpoint's path. */
async function userWithEndpoint(): Promise<{ name: string; id: string; path: string }> {
  const name = unique("sub");
  const user = await cliJson(["users", "create", name]);
  const path = `github/${unique("repo")}`;
  await cliJson(["endpoints", "create", path, "--provider", "github", "--owner-user", name]);
  return { name, id: user.id, path };
}

/** Collects GRANTS_CHANGED_SUBJECT announcements while `fn` runs. */
async function grantsSeen(fn: (seen: unknown[]) => Promise<void>): Promise<void> {
  const seen: unknown[] = [];
  const sub = nc.subscribe(GRANTS_CHANGED_SUBJECT, { callback: (_err, msg) => void seen.push(msg.json()) });
  await nc.flush();
  try {
    await fn(seen);
  } finally {
    sub.unsubscribe();
  }
}

describe("subscriptions", () => {
  it("creates, lists and deletes subscriptions, with DB rows and the API's JSON shape", async () => {
    const u = await userWithEndpoint();
    const pattern = `/webhook/${u.path}/**`;
    await grantsSeen(async (seen) => {
      const created = await cliJson([
        "subscriptions", "create", u.name, pattern,
        "--event", "push,pull_request", "--event", "push",
        "--payload", "action=opened,closed", "--payload", "ref=refs/heads/main", "--payload", "pull_request.number=42",
      ]);
      const filters = { event_type: ["push", "pull_request"], payload: { action: ["opened", "closed"], ref: "refs/heads/main", "pull_request.number": 42 } };
      expect(created).toEqual({ id: expect.any(String), consumer: "default", webhook_path_pattern: pattern, filters, created_at: expect.any(String) });
      await expect.poll(() => seen).toContainEqual({ user_ids: [u.id], change: "subscription_created" });

      const rows = await query(
        "select s.user_id, s.webhook_path_pattern, s.filters, c.name as consumer from subscriptions s join consumers c on c.id = s.consumer_id where s.id = $1",
        [created.id],
      );
      expect(rows).toEqual([{ user_id: u.id, webhook_path_pattern: pattern, filters, consumer: "default" }]);

      expect(await cliJson(["subscriptions", "list", u.name])).toEqual({ subscriptions: [created] });
      expect(await cliJson(["subscriptions", "list", u.name, "--consumer", "default"])).toEqual({ subscriptions: [created] });
      const table = await cli(["subscriptions", "list", u.name]);
      expect(table.stdout).toMatch(/^ID\s+CONSUMER\s+PATTERN\s+EVENTS\s+PAYLOAD\s+CREATED$/m);
      expect(table.stdout).toContain(`${created.id}  default   ${pattern}  push,pull_request`);

      const deleted = await cliJson(["subscriptions", "delete", u.name, created.id]);
      expect(deleted).toEqual({ id: created.id, user: u.name, consumer: "default", deleted: true });
      await expect.poll(() => seen).toContainEqual({ user_ids: [u.id], change: "subscription_deleted" });
      expect(await query("select 1 from subscriptions where id = $1", [created.id])).toHaveLength(0);
      expect((await cli(["subscriptions", "list", u.name])).stdout).toBe("(no subscriptions)\n");

      const again = await cli(["subscriptions", "delete", u.name, created.id]);
      expect(again.code).toBe(1);
      expect(again.stderr).toBe(`error: ${u.name} has no subscription ${created.id}\n`);
    });
  });

  it("refuses a pattern outside the user's endpoints (403), a partial overlap (409) and a bad pattern (400) with exit 1", async () => {
    const u = await userWithEndpoint();
    const other = await userWithEndpoint();

    const outside = await cli(["subscriptions", "create", u.name, `/webhook/${other.path}/**`]);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(new RegExp(`^error: cannot subscribe to /webhook/${other.path}/\\*\\* for ${u.name}: webhook_path_pattern .* reaches outside the endpoints you may read`));
    expect(outside.stdout).toBe("");

    expect((await cli(["subscriptions", "create", u.name, `/webhook/${u.path}/*/a`])).code).toBe(0);
    const overlap = await cli(["subscriptions", "create", u.name, `/webhook/${u.path}/b/*`]);
    expect(overlap.code).toBe(1);
    expect(overlap.stderr).toMatch(/^error: cannot subscribe .*: this subscription overlaps subscription [0-9a-f-]+ \(.*\) only in part/);

    const bad = await cli(["subscriptions", "create", u.name, `/webhook/${u.path}/repo-*`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: cannot subscribe .*: webhook_path_pattern: /);

    // Nothing but the one good subscription was stored.
    expect(await query("select webhook_path_pattern from subscriptions where user_id = $1", [u.id])).toEqual([
      { webhook_path_pattern: `/webhook/${u.path}/*/a` },
    ]);
  });

  it("exits 1 for unknown users, consumers and subscription ids; 2 for malformed options", async () => {
    const u = await userWithEndpoint();
    const pattern = `/webhook/${u.path}/**`;
    const cases: [string[], number, RegExp][] = [
      [["subscriptions", "list", "nobody-here"], 1, /user nobody-here not found/],
      [["subscriptions", "list", u.name, "--consumer", "laptop"], 1, new RegExp(`${u.name} has no consumer laptop`)],
      [["subscriptions", "create", u.name, pattern, "--consumer", "laptop"], 1, new RegExp(`^error: ${u.name} has no consumer laptop\n$`)],
      [["subscriptions", "delete", u.name, "not-a-uuid"], 1, /has no subscription not-a-uuid/],
      [["subscriptions", "create", u.name, pattern, "--payload", "novalue"], 2, /--payload: expected key=value/],
      [["subscriptions", "create", u.name, pattern, "--payload", "a=1", "--payload", "a=2"], 2, /a given twice/],
      [["subscriptions", "create", u.name, pattern, "--event", ","], 2, /--event: name at least one/],
      [["subscriptions", "create", u.name, pattern, "--payload", "bad key=1"], 1, /invalid filters: payload/],
      [["subscriptions", "create", u.name], 2, /missing required argument/],
      [["dead-letters", "list", u.name, "--limit", "0"], 2, /--limit: expected an integer from 1 to 1000/],
      [["dead-letters", "list", u.name, "--consumer", "laptop"], 1, new RegExp(`${u.name} has no consumer laptop`)],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(" ")).toBe(code);
      expect(r.stderr, args.join(" ")).toMatch(message);
    }
  });

  it("parses --event and --payload: commas mean one of, JSON scalars are typed, a JSON array for commas in values", () => {
    expect(parseEvents([])).toBeUndefined();
    expect(parseEvents(["push, pull_request", "push"])).toEqual(["push", "pull_request"]);
    expect(parsePayloadFilter([])).toBeUndefined();
    expect(parsePayloadFilter(["ref=refs/heads/main", "action=opened,closed", "n=42", "s=\"42\"", "ok=true", "x=null", 'title=["a,b","c"]', "eq=a=b"])).toEqual({
      ref: "refs/heads/main",
      action: ["opened", "closed"],
      n: 42,
      s: "42",
      ok: true,
      x: null,
      title: ["a,b", "c"],
      eq: "a=b",
    });
  });
});

describe("dead-letters", () => {
  it("lists nothing for a user without dead letters: an empty table, or {dead_letters: []}", async () => {
    const u = await userWithEndpoint();
    expect(await cliJson(["dead-letters", "list", u.name])).toEqual({ dead_letters: [] });
    expect(await cliJson(["dead-letters", "list", u.name, "--consumer", "default", "--limit", "10"])).toEqual({ dead_letters: [] });
    const table = await cli(["dead-letters", "list", u.name]);
    expect(table.code).toBe(0);
    expect(table.stdout).toBe("(no dead letters)\n");
  });
});

describe("grants announcements", () => {
  it("members add, role and remove, tokens revoke and users disable, announce on GRANTS_CHANGED_SUBJECT scoped to the user", async () => {
    const org = unique("org");
    const [admin, bob] = [unique("admin"), unique("bob")];
    const { id: orgId } = await cliJson(["orgs", "create", org]);
    await cli(["users", "create", admin]);
    const { id: bobId } = await cliJson(["users", "create", bob]);
    await cli(["members", "add", org, admin, "--role", "admin"]);

    await grantsSeen(async (seen) => {
      expect((await cli(["members", "add", org, bob, "--role", "viewer"])).code).toBe(0);
      await expect.poll(() => seen).toContainEqual({ user_ids: [bobId], change: "member_added", organization_id: orgId });

      expect(await cliJson(["members", "role", org, bob, "--role", "member"])).toEqual({ organization: org, user: bob, role: "member" });
      await expect.poll(() => seen).toContainEqual({ user_ids: [bobId], change: "role_changed", organization_id: orgId });
      expect(await query("select m.role from memberships m where m.user_id = $1", [bobId])).toEqual([{ role: "member" }]);

      const removed = await cli(["members", "remove", org, bob]);
      expect(removed.code, removed.stderr).toBe(0);
      expect(removed.stderr).toBe("");
      await expect.poll(() => seen).toContainEqual({ user_ids: [bobId], change: "member_removed", organization_id: orgId });

      const { id: tokenId } = await cliJson(["tokens", "create", bob]);
      expect((await cli(["tokens", "revoke", tokenId])).code).toBe(0);
      await expect.poll(() => seen).toContainEqual({ user_ids: [bobId], change: "token_revoked" });

      await cli(["users", "disable", bob]);
      await expect.poll(() => seen).toContainEqual({ user_ids: [bobId], change: "user_disabled" });
    });

    // role needs an existing membership, and never demotes the last admin.
    const notMember = await cli(["members", "role", org, bob, "--role", "viewer"]);
    expect(notMember.code).toBe(1);
    expect(notMember.stderr).toBe(`error: ${bob} is not a member of ${org}\n`);
    const lastAdmin = await cli(["members", "role", org, admin, "--role", "viewer"]);
    expect(lastAdmin.code).toBe(1);
    expect(lastAdmin.stderr).toMatch(/last admin/);
  });

  it("only warns when NATS is unreachable: the membership change stands", async () => {
    const org = unique("org");
    const user = unique("u");
    await cli(["orgs", "create", org]);
    await cli(["users", "create", user]);
    const r = await cli(["members", "add", org, user, "--role", "admin"], { NATS_URL: "nats://127.0.0.1:1" });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: could not announce the change on NATS .*reconcilers apply it .* next sweep/);
    expect((await cliJson(["members", "list", org])).members.map((m: { name: string }) => m.name)).toEqual([user]);
  });
});

describe("help", () => {
  it("has --help on the new commands, without configuration", async () => {
    const commands = [
      ["subscriptions"], ["subscriptions", "list"], ["subscriptions", "create"], ["subscriptions", "delete"],
      ["dead-letters"], ["dead-letters", "list"], ["members", "role"],
    ];
    for (const path of commands) {
      const r = await cli([...path, "--help"], { DATABASE_URL: undefined, SECRET_KEY: undefined, NATS_URL: undefined });
      expect(r.code, path.join(" ")).toBe(0);
      expect(r.stdout).toContain(`Usage: pnpm cli ${path.join(" ")}`);
    }
    const create = (await cli(["subscriptions", "create", "--help"])).stdout;
    expect(create).toContain("--payload action=opened,closed");
    expect(create).toContain("'**' (last");
  });
});
