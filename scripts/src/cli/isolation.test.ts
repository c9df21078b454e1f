/**
 * The CLI applies the same ownership, body-limit and audit rules as the API (issue 11): it calls
 * the same authz functions, acting as a global admin.
 */
import { bodyCeiling } from "@wb/authz";
import { describe, expect, it } from "vitest";
import { adminNats, unique, useCliStack } from "./testing.js";

const t = useCliStack("cli-iso");
const { cli, cliJson, query } = t;

async function setup() {
  const alice = unique("alice");
  const mallory = unique("mallory");
  const org = unique("org");
  for (const u of [alice, mallory]) expect((await cli(["users", "create", u])).code).toBe(0);
  expect((await cli(["orgs", "create", org])).code).toBe(0);
  return { alice, mallory, org };
}

describe("ownership rules in the CLI", () => {
  it("refuses an endpoint nested under another owner's, however spelled, and in another's namespace", async () => {
    const { alice, mallory } = await setup();
    const root = unique("cap");
    expect((await cli(["endpoints", "create", `${root}/gh`, "--provider", "github", "--owner-user", alice])).code).toBe(0);
    for (const path of [`${root}/gh/x`, `${root.toUpperCase()}/GH/x`, root]) {
      const r = await cli(["endpoints", "create", path, "--provider", "none", "--owner-user", mallory]);
      expect(r.code, path).toBe(1);
      expect(r.stderr).toMatch(/another owner/);
    }
    const ns = await cli(["endpoints", "create", `u/${alice}/x`, "--provider", "none", "--owner-user", mallory]);
    expect(ns.code).toBe(1);
    expect(ns.stderr).toContain(`namespace of user ${alice}`);
    // Positive control: the owner nests under her own, and uses her namespace.
    expect((await cli(["endpoints", "create", `${root}/gh/x`, "--provider", "none", "--owner-user", alice])).code).toBe(0);
    expect((await cli(["endpoints", "create", `u/${alice}/x`, "--provider", "github", "--owner-user", alice])).code).toBe(0);
  });

  it("reservations: only the holder inside; listed and deleted by the CLI", async () => {
    const { mallory, org } = await setup();
    const prefix = `github/${org}`;
    const r = await cliJson(["reservations", "create", prefix, "--org", org, "--note", "acme's repos"]);
    expect(r).toMatchObject({ prefix, owner: { type: "organization", name: org }, note: "acme's repos" });
    expect((await cli(["reservations", "create", prefix, "--org", org])).code).toBe(1);
    const inside = await cli(["endpoints", "create", `GitHub/${org}/x`, "--provider", "github", "--owner-user", mallory]);
    expect(inside.code).toBe(1);
    expect(inside.stderr).toMatch(/reserved for another owner/);
    expect((await cli(["endpoints", "create", `${prefix}/x`, "--provider", "github", "--owner-org", org])).code).toBe(0);
    expect((await cliJson(["reservations", "list"])).reservations.map((x: { id: string }) => x.id)).toContain(r.id);
    expect((await cli(["reservations", "delete", r.id])).code).toBe(0);
    expect((await cliJson(["reservations", "list"])).reservations.map((x: { id: string }) => x.id)).not.toContain(r.id);
    expect((await cli(["reservations", "create", prefix])).code).toBe(2);
  });

  it("checks --max-body against the NATS server's max_payload, like the API", async () => {
    const { alice } = await setup();
    const nc = await adminNats();
    const maxPayload = nc.info!.max_payload;
    await nc.close();
    const over = await cli(["endpoints", "create", unique("big"), "--provider", "github", "--owner-user", alice, "--max-body", String(bodyCeiling(maxPayload) + 1)]);
    expect(over.code).toBe(1);
    expect(over.stderr).toContain(`max_payload of ${maxPayload} bytes allows at most ${bodyCeiling(maxPayload)}`);
    const fits = await cliJson(["endpoints", "create", unique("big"), "--provider", "github", "--owner-user", alice, "--max-body", String(bodyCeiling(maxPayload))]);
    expect(fits.max_body_bytes).toBe(bodyCeiling(maxPayload));
    // Without NATS the server's limit cannot be checked: a usage error, nothing created.
    const path = unique("nonats");
    const noNats = await cli(["endpoints", "create", path, "--provider", "github", "--owner-user", alice, "--max-body", "1MiB"], { NATS_URL: "" });
    expect(noNats.code).toBe(2);
    expect(await query("select 1 from endpoints where path = $1", [path])).toEqual([]);
  });

  it("endpoints update changes description, public, options and body limit; the path stays", async () => {
    const { alice } = await setup();
    const ep = await cliJson(["endpoints", "create", unique("upd"), "--provider", "hmac", "--owner-user", alice, "--option", "header=X-Sig"]);
    const updated = await cliJson([
      "endpoints", "update", ep.id, "--description", "billing events", "--public", "--max-body", "1MiB", "--option", "header=X-Other",
    ]);
    expect(updated).toMatchObject({ id: ep.id, path: ep.path, description: "billing events", public: true, max_body_bytes: 1024 * 1024, access_changed: true });
    expect(updated.provider_options).toMatchObject({ header: "X-Other" });
    const back = await cliJson(["endpoints", "update", ep.id, "--private", "--default-max-body", "--description", ""]);
    expect(back).toMatchObject({ public: false, max_body_bytes: null, description: null });
    expect((await cli(["endpoints", "update", ep.id])).code).toBe(2);
    expect((await cli(["endpoints", "update", ep.id, "--option", "nonsense=1"])).code).toBe(1);
  });

  it("endpoints audit reports existing violations and changes nothing", async () => {
    const { alice, mallory } = await setup();
    const root = unique("legacy");
    const victim = await cliJson(["endpoints", "create", `${root}/gh`, "--provider", "github", "--owner-user", alice]);
    // A violation from before the rules: written straight into the table.
    const [malloryRow] = await query<{ id: string }>("select id from users where name = $1", [mallory]);
    const [squat] = await query<{ id: string }>(
      "insert into endpoints (path, provider, secret_enc, owner_user_id) values ($1, 'none', 'x', $2) returning id",
      [`${root}/gh/repo1`, malloryRow!.id],
    );
    const r = await cli(["--json", "endpoints", "audit"]);
    expect(r.code).toBe(1);
    const found = JSON.parse(r.stdout).violations.filter((v: { endpoint_id: string }) => [victim.id, squat!.id].includes(v.endpoint_id));
    expect(found.map((v: { endpoint_id: string; rule: string; with: string[] }) => [v.endpoint_id, v.rule, v.with])).toEqual([
      [victim.id, "nested", [squat!.id]],
      [squat!.id, "nested", [victim.id]],
    ]);
    expect(await query("select id from endpoints where id = any($1)", [[victim.id, squat!.id]])).toHaveLength(2);
  });
});

describe("audit log", () => {
  it("records CLI changes with who (cli), what and when, and shows them newest first", async () => {
    const { alice, org } = await setup();
    expect((await cli(["members", "add", org, alice, "--role", "member"])).code).toBe(0);
    const token = await cliJson(["tokens", "create", alice, "--name", "laptop"]);
    expect((await cli(["tokens", "revoke", token.id])).code).toBe(0);
    expect((await cli(["users", "disable", alice])).code).toBe(0);

    const { entries } = await cliJson(["audit", "--limit", "20"]);
    const [{ id: aliceId }] = (await query<{ id: string }>("select id from users where name = $1", [alice])) as [{ id: string }];
    const mine = entries.filter((e: any) => e.details?.user_id === aliceId || e.target.id === aliceId);
    expect(mine.map((e: any) => e.action)).toEqual(["user.disabled", "token.revoked", "token.created", "member.added", "user.created"]);
    for (const e of mine) expect(e.actor).toMatchObject({ name: "cli", via: "cli", source: "cli", user_id: null });
    expect(JSON.stringify(entries)).not.toContain(token.token);

    const orgOnly = await cliJson(["audit", "--org", org]);
    expect(orgOnly.entries.map((e: any) => e.action)).toEqual(["member.added", "organization.created"]);
  });
});
