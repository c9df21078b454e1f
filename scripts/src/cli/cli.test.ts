/**
 * The admin CLI against the test harness's real PostgreSQL and nats-server, run in-process
 * through runCli() (plus one subprocess smoke test of `pnpm cli --help`).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { NatsConnection } from "@nats-io/transport-node";
import { ENDPOINTS_CHANGED_SUBJECT, SecretBox } from "@wb/authz";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "@wb/stack";
import { adminNats, unique, useCliStack } from "./testing.js";

const repoRoot = join(import.meta.dirname, "..", "..", "..");

const t = useCliStack("cli");
const { cli, cliJson, query } = t;

describe("users", () => {
  it("creates users and lists them as JSON", async () => {
    const alice = unique("alice");
    const root = unique("root");
    expect((await cli(["users", "create", alice])).code).toBe(0);
    const created = await cliJson(["users", "create", root, "--admin"]);
    expect(created).toMatchObject({ name: root, is_admin: true, disabled_at: null });

    const { users } = await cliJson<{ users: Record<string, unknown>[] }>(["users", "list"]);
    const a = users.find((u) => u.name === alice);
    expect(a).toEqual({ id: expect.any(String), name: alice, is_admin: false, disabled_at: null, created_at: expect.any(String) });
    expect(users.find((u) => u.name === root)?.is_admin).toBe(true);

    const table = await cli(["users", "list"]);
    expect(table.stdout).toMatch(/^NAME\s+ID\s+ADMIN\s+STATUS\s+CREATED$/m);
    expect(table.stdout).toContain(alice);
  });

  it("refuses a duplicate name with exit 1 and a clear message", async () => {
    const name = unique("dup");
    expect((await cli(["users", "create", name])).code).toBe(0);
    const again = await cli(["users", "create", name]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`error: user ${name} already exists\n`);
    expect(again.stdout).toBe("");
  });

  it("disables a user; his tokens stop resolving and new ones are refused", async () => {
    const name = unique("gone");
    await cli(["users", "create", name]);
    const disabled = await cliJson(["users", "disable", name]);
    expect(disabled.disabled_at).toEqual(expect.any(String));
    // Idempotent: the first time stays.
    expect((await cliJson(["users", "disable", name])).disabled_at).toBe(disabled.disabled_at);
    const token = await cli(["tokens", "create", name]);
    expect(token.code).toBe(1);
    expect(token.stderr).toContain(`user ${name} is disabled`);

    const missing = await cli(["users", "disable", unique("nobody")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/error: user .* not found/);
  });
});

describe("signing-keys", () => {
  it("rotate makes a new signing key and keeps the previous one verifying; list shows both states", async () => {
    const first = await cliJson<{ kid: string }>(["signing-keys", "rotate"]);
    const second = await cliJson<{ kid: string }>(["signing-keys", "rotate", "--access-ttl", "20m"]);
    expect(second.kid).not.toBe(first.kid);
    const { keys } = await cliJson<{ keys: { kid: string; state: string; verify_until: string | null }[] }>(["signing-keys", "list"]);
    expect(keys.find((k) => k.kid === second.kid)).toMatchObject({ state: "signing", verify_until: null });
    const previous = keys.find((k) => k.kid === first.kid)!;
    expect(previous.state).toBe("verifying");
    const left = new Date(previous.verify_until!).getTime() - Date.now();
    expect(left).toBeGreaterThan(20 * 60_000);
    expect(left).toBeLessThanOrEqual(21 * 60_000 + 5_000);
    expect((await cli(["signing-keys", "rotate", "--access-ttl", "soon"])).code).toBe(2);
  });
});

describe("tokens", () => {
  it("prints the token once to stdout and stores only its sha256", async () => {
    const user = unique("tok");
    await cli(["users", "create", user]);
    const r = await cli(["tokens", "create", user, "--name", "laptop", "--expires", "30d"]);
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    expect(r.stdout).toBe(token + "\n");
    expect(token).toMatch(/^whb_[A-Za-z0-9_-]{43}$/);
    expect(r.stderr).toMatch(/store the token now/);
    expect(r.stderr).not.toContain(token);

    const rows = await query<{ token_hash: string; expires_at: Date; row: string }>(
      "select t.token_hash, t.expires_at, row_to_json(t)::text as row from api_tokens t join users u on u.id = t.user_id where u.name = $1",
      [user],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toBe(createHash("sha256").update(token).digest("hex"));
    expect(rows[0]!.row).not.toContain(token.slice(10));
    const days = (rows[0]!.expires_at.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);

    // Listings show a prefix, never the token.
    const list = await cli(["tokens", "list", user]);
    const json = await cli(["--json", "tokens", "list", user]);
    for (const out of [list.stdout, json.stdout]) expect(out).not.toContain(token.slice(10));
    const { tokens } = JSON.parse(json.stdout);
    expect(tokens).toEqual([
      {
        id: expect.any(String),
        name: "laptop",
        display_prefix: token.slice(0, 10),
        status: "active",
        created_at: expect.any(String),
        expires_at: expect.any(String),
        revoked_at: null,
        last_used_at: null,
      },
    ]);
  });

  it("--json create returns the token with its id; revoke marks it revoked once", async () => {
    const user = unique("rev");
    await cli(["users", "create", user]);
    const created = await cliJson(["tokens", "create", user]);
    expect(created).toEqual({ id: expect.any(String), user, name: "cli", expires_at: null, token: expect.stringMatching(/^whb_/) });

    expect((await cli(["tokens", "revoke", created.id])).code).toBe(0);
    const { tokens } = await cliJson(["tokens", "list", user]);
    expect(tokens[0]).toMatchObject({ id: created.id, status: "revoked", revoked_at: expect.any(String) });

    const again = await cli(["tokens", "revoke", created.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("not found");
    expect((await cli(["tokens", "revoke", "not-a-uuid"])).code).toBe(1);
  });

  it("rejects a bad --expires as a usage error (exit 2)", async () => {
    const user = unique("exp");
    await cli(["users", "create", user]);
    const r = await cli(["tokens", "create", user, "--expires", "soon"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--expires: not a duration or date: soon");
    expect(await query("select 1 from api_tokens t join users u on u.id = t.user_id where u.name = $1", [user])).toHaveLength(0);
  });
});

describe("orgs and members", () => {
  it("creates and lists organizations; a duplicate exits 1", async () => {
    const org = unique("acme");
    expect(await cliJson(["orgs", "create", org])).toEqual({ id: expect.any(String), name: org, created_at: expect.any(String) });
    const dup = await cli(["orgs", "create", org]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toBe(`error: organization ${org} already exists\n`);
    const { organizations } = await cliJson(["orgs", "list"]);
    expect(organizations.find((o: { name: string }) => o.name === org)).toEqual({
      id: expect.any(String),
      name: org,
      github_org: null,
      members: 0,
      created_at: expect.any(String),
    });
  });

  it("adds, re-roles, lists and removes members", async () => {
    const org = unique("team");
    const [ann, bob] = [unique("ann"), unique("bob")];
    await cli(["orgs", "create", org]);
    await cli(["users", "create", ann]);
    await cli(["users", "create", bob]);

    expect((await cli(["members", "add", org, ann, "--role", "admin"])).code).toBe(0);
    expect(await cliJson(["members", "add", org, bob, "--role", "viewer"])).toEqual({ organization: org, user: bob, role: "viewer" });
    // Adding again changes the role.
    expect((await cli(["members", "add", org, bob, "--role", "member"])).stdout).toBe(`${bob} is now member of ${org}\n`);

    const { members } = await cliJson(["members", "list", org]);
    expect(members.map((m: { name: string; role: string }) => [m.name, m.role])).toEqual([
      [ann, "admin"],
      [bob, "member"],
    ]);
    expect(members[0]).toEqual({ user_id: expect.any(String), name: ann, role: "admin", disabled: false, joined_at: expect.any(String) });

    expect((await cli(["members", "remove", org, bob])).code).toBe(0);
    expect((await cliJson(["members", "list", org])).members.map((m: { name: string }) => m.name)).toEqual([ann]);
    const rows = await query("select 1 from memberships m join users u on u.id = m.user_id where u.name = $1", [bob]);
    expect(rows).toHaveLength(0);

    const notMember = await cli(["members", "remove", org, bob]);
    expect(notMember.code).toBe(1);
    expect(notMember.stderr).toBe(`error: ${bob} is not a member of ${org}\n`);
  });

  it("rejects an unknown role (2), a missing role (2), and unknown orgs or users (1)", async () => {
    const org = unique("roles");
    const user = unique("u");
    await cli(["orgs", "create", org]);
    await cli(["users", "create", user]);
    const badRole = await cli(["members", "add", org, user, "--role", "owner"]);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain("Allowed choices are admin, member, viewer");
    expect((await cli(["members", "add", org, user])).code).toBe(2);
    const noOrg = await cli(["members", "add", unique("none"), user, "--role", "member"]);
    expect(noOrg.code).toBe(1);
    expect(noOrg.stderr).toMatch(/organization .* not found/);
    expect((await cli(["members", "list", unique("none")])).code).toBe(1);
  });
});

describe("endpoints", () => {
  let owner: string;
  let org: string;
  let nc: NatsConnection;

  beforeAll(async () => {
    owner = unique("owner");
    org = unique("org");
    await cli(["users", "create", owner]);
    await cli(["orgs", "create", org]);
    nc = await adminNats();
  });

  afterAll(async () => {
    await nc?.close();
  });

  it("prints a generated secret once, stores it encrypted, and never shows it again", async () => {
    const path = `github/${unique("repo")}`;
    const r = await cli(["endpoints", "create", path, "--provider", "github", "--owner-user", owner, "--max-body", "1MiB"]);
    expect(r.code, r.stderr).toBe(0);
    const secret = r.stdout.trim();
    expect(r.stdout).toBe(secret + "\n");
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stderr).toContain(`/webhook/${path}`);
    expect(r.stderr).toContain("store the signing secret now");
    expect(r.stderr).not.toContain(secret);

    const [row] = await query<{ id: string; secret_enc: string; max_body_bytes: number; row: string }>(
      "select id, secret_enc, max_body_bytes, row_to_json(e)::text as row from endpoints e where path = $1",
      [path],
    );
    expect(row!.secret_enc).not.toBe(secret);
    expect(row!.row).not.toContain(secret);
    expect(new SecretBox(t.secretKey).open(row!.secret_enc)).toBe(secret);
    expect(row!.max_body_bytes).toBe(1024 * 1024);

    const outputs = [
      await cli(["endpoints", "list"]),
      await cli(["--json", "endpoints", "list"]),
      await cli(["endpoints", "show", row!.id]),
      await cli(["endpoints", "show", row!.id, "--json"]),
    ];
    for (const o of outputs) {
      expect(o.code).toBe(0);
      expect(o.stdout + o.stderr).not.toContain(secret);
    }
    expect(outputs[0]!.stdout).toContain(`user:${owner}`);
    const listed = JSON.parse(outputs[1]!.stdout).endpoints.find((e: { id: string }) => e.id === row!.id);
    expect(listed).toEqual({
      id: row!.id,
      path,
      url_path: `/webhook/${path}`,
      provider: "github",
      provider_options: {},
      owner: { type: "user", id: expect.any(String), name: owner },
      public: false,
      max_body_bytes: 1024 * 1024,
      description: null,
      repository: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(JSON.parse(outputs[3]!.stdout)).toEqual(listed);
  });

  it("--json create returns the view with the secret; a supplied secret is not echoed in table mode", async () => {
    const path = `hooks/${unique("org")}`;
    const created = await cliJson([
      "endpoints", "create", path, "--provider", "hmac", "--owner-org", org, "--public",
      "--option", "header=X-Signature", "--option", "tolerance_seconds=60",
    ]);
    expect(created).toMatchObject({
      path,
      provider: "hmac",
      owner: { type: "organization", name: org },
      public: true,
      secret: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(created.provider_options).toMatchObject({ header: "X-Signature", tolerance_seconds: 60 });

    const supplied = "my-shared-secret-123";
    const r = await cli(["endpoints", "create", `${path}/sub`, "--provider", "github", "--owner-org", org, "--secret", supplied]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(supplied);
    const [row] = await query<{ secret_enc: string }>("select secret_enc from endpoints where path = $1", [`${path}/sub`]);
    expect(new SecretBox(t.secretKey).open(row!.secret_enc)).toBe(supplied);
  });

  it("refuses a duplicate path, an unknown provider and bad options with exit 1", async () => {
    const path = `github/${unique("dup")}`;
    expect((await cli(["endpoints", "create", path, "--provider", "github", "--owner-user", owner])).code).toBe(0);
    const dup = await cli(["endpoints", "create", `/webhook/${path}/`, "--provider", "github", "--owner-user", owner]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toBe(`error: an endpoint with path ${path} already exists\n`);

    const unknown = await cli(["endpoints", "create", unique("x"), "--provider", "carrier-pigeon", "--owner-user", owner]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: unknown provider carrier-pigeon; known: .*github/);

    const badOption = await cli(["endpoints", "create", unique("x"), "--provider", "github", "--owner-user", owner, "--option", "foo=bar"]);
    expect(badOption.code).toBe(1);
    expect(badOption.stderr).toContain("provider_options");

    const noOwner = await cli(["endpoints", "create", unique("x"), "--provider", "github", "--owner-user", unique("ghost")]);
    expect(noOwner.code).toBe(1);
    expect(noOwner.stderr).toMatch(/user .* not found/);
  });

  it("rejects usage errors with exit 2", async () => {
    const base = ["endpoints", "create", unique("u"), "--provider", "github"];
    const cases: [string[], RegExp][] = [
      [[...base], /an owner is required/],
      [[...base, "--owner-user", owner, "--owner-org", org], /cannot be used with/],
      [[...base, "--owner-user", owner, "--max-body", "huge"], /--max-body/],
      [[...base, "--owner-user", owner, "--option", "novalue"], /--option: expected key=value/],
      [["endpoints", "create", unique("u"), "--owner-user", owner], /--provider <name>' not specified/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it("announces creation and deletion on ENDPOINTS_CHANGED_SUBJECT", async () => {
    const seen: unknown[] = [];
    const sub = nc.subscribe(ENDPOINTS_CHANGED_SUBJECT, { callback: (_err, msg) => void seen.push(msg.json()) });
    await nc.flush();
    try {
      const created = await cliJson(["endpoints", "create", `github/${unique("ann")}`, "--provider", "github", "--owner-user", owner]);
      await expect.poll(() => seen).toContainEqual({ id: created.id, change: "created" });

      const del = await cli(["endpoints", "delete", created.id]);
      expect(del.code).toBe(0);
      expect(del.stderr).toBe("");
      await expect.poll(() => seen).toContainEqual({ id: created.id, change: "deleted" });

      expect((await cli(["endpoints", "show", created.id])).code).toBe(1);
      const again = await cli(["endpoints", "delete", created.id]);
      expect(again.code).toBe(1);
      expect(again.stderr).toBe(`error: endpoint ${created.id} not found\n`);
    } finally {
      sub.unsubscribe();
    }
  });

  it("only warns when NATS is unreachable: the change stands", async () => {
    const port = await freePort("127.0.0.1");
    const r = await cli(["endpoints", "create", `github/${unique("offline")}`, "--provider", "github", "--owner-user", owner], {
      NATS_URL: `nats://127.0.0.1:${port}`,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: could not announce the change on NATS .*refresh interval/);
    const secret = r.stdout.trim();
    expect(r.stderr).not.toContain(secret);
  });
});

describe("configuration and usage", () => {
  it("exits 2 with a clear message when DATABASE_URL or SECRET_KEY is missing or bad", async () => {
    const noDb = await cli(["users", "list"], { DATABASE_URL: undefined });
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toContain("DATABASE_URL is required");
    expect(noDb.stdout).toBe("");

    const badKey = await cli(["users", "list"], { SECRET_KEY: "c2hvcnQ=" });
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain("SECRET_KEY must be 32 bytes, base64-encoded");

    const badUrl = await cli(["users", "list"], { DATABASE_URL: "mysql://x" });
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain("DATABASE_URL must be a postgres:// URL");
  });

  it("reads unset variables from the local stack's broker.env", async () => {
    const { writeEnvFile, localEnvPath } = await import("../local-env.js");
    const dir = await mkdtemp(join(tmpdir(), "wb-cli-env-"));
    try {
      await writeEnvFile(localEnvPath({ WB_DATA_DIR: dir }), { DATABASE_URL: t.testDb.url, SECRET_KEY: t.env.SECRET_KEY! });
      const r = await cli(["--json", "users", "list"], { WB_DATA_DIR: dir, DATABASE_URL: undefined, SECRET_KEY: undefined });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).users).toEqual(expect.any(Array));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("exits 2 on unknown commands and missing arguments", async () => {
    for (const args of [["frobnicate"], ["users"], ["users", "create"], ["tokens", "list"], ["users", "list", "--bogus"]]) {
      const r = await cli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).not.toBe("");
    }
  });

  it("has --help on every command, which needs no configuration", async () => {
    const commands = [
      [],
      ["users"], ["users", "create"], ["users", "list"], ["users", "disable"],
      ["tokens"], ["tokens", "create"], ["tokens", "list"], ["tokens", "revoke"],
      ["orgs"], ["orgs", "create"], ["orgs", "list"],
      ["members"], ["members", "add"], ["members", "list"], ["members", "remove"],
      ["endpoints"], ["endpoints", "create"], ["endpoints", "list"], ["endpoints", "show"], ["endpoints", "delete"],
    ];
    for (const path of commands) {
      const r = await cli([...path, "--help"], { DATABASE_URL: undefined, SECRET_KEY: undefined });
      expect(r.code, path.join(" ")).toBe(0);
      expect(r.stdout).toContain(`Usage: pnpm cli ${path.join(" ")}`.trimEnd());
    }
  });

  it("`pnpm cli --help` works as a subprocess", async () => {
    const { stdout } = await promisify(execFile)("pnpm", ["cli", "--help"], {
      cwd: repoRoot,
      env: { ...process.env, WB_DATA_DIR: t.dataDir },
      timeout: 20_000,
    });
    expect(stdout).toContain("Usage: pnpm cli");
    for (const noun of ["users", "tokens", "orgs", "members", "endpoints", "subscriptions", "consumers", "dead-letters", "stream", "signing-keys"]) expect(stdout).toMatch(new RegExp(`^  ${noun}\\s`, "m"));
  });
});
