import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import { GRANTS_CHANGED_SUBJECT } from "@wb/authz";
import { startTestBroker, type TestBroker, callApi, postGithub, pull } from "@wb/test-support";

let broker: TestBroker;
let nc: NatsConnection;

beforeAll(async () => {
  broker = await startTestBroker();
  nc = await broker.admin();
});
afterAll(() => broker?.close());

const api = (token: string, method: string, path: string, body?: unknown) => callApi(broker.url, token, method, path, body);

const orgName = () => `org-${randomBytes(4).toString("hex")}`;

describe("organizations API", () => {
  it("lets any user create an organization, of which he becomes the admin", async () => {
    const u = await broker.user();
    const name = orgName();
    const created = await api(u.token, "POST", "/orgs", { name });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(String), name, github_org: null, role: "admin", members: 1, created_at: expect.any(String) });
    expect((await api(u.token, "POST", "/orgs", { name })).status).toBe(409);
    expect((await api(u.token, "POST", "/orgs", { name: "Bad Name!" })).status).toBe(400);

    const list = await api(u.token, "GET", "/orgs");
    expect(list.body.organizations).toEqual([created.body]);
    const members = await api(u.token, "GET", `/orgs/${name}/members`);
    expect(members.body.members).toEqual([{ user_id: u.id, name: u.name, role: "admin", source: "broker", disabled: false, joined_at: expect.any(String) }]);
  });

  it("lists a user's organizations only; global admins see all", async () => {
    const a = await broker.user();
    const b = await broker.user();
    const root = await broker.user({ admin: true });
    const [na, nb] = [orgName(), orgName()];
    await api(a.token, "POST", "/orgs", { name: na });
    await api(b.token, "POST", "/orgs", { name: nb });
    const names = async (t: string) => (await api(t, "GET", "/orgs")).body.organizations.map((o: any) => o.name);
    expect(await names(a.token)).toEqual([na]);
    expect(await names(root.token)).toEqual(expect.arrayContaining([na, nb]));
    const seen = (await api(root.token, "GET", "/orgs")).body.organizations.find((o: any) => o.name === na);
    expect(seen).toMatchObject({ role: null, members: 1 });
    // Not a member: the same 404 as an organization that does not exist.
    const foreign = await api(b.token, "GET", `/orgs/${na}`);
    const none = await api(b.token, "GET", `/orgs/${orgName()}`);
    expect([foreign.status, none.status]).toEqual([404, 404]);
    expect(foreign.body.error.code).toBe(none.body.error.code);
    expect((await api(root.token, "GET", `/orgs/${na}`)).status).toBe(200);
  });

  it("adds, re-roles and removes members; only admins manage; members may list and leave", async () => {
    const admin = await broker.user();
    const bob = await broker.user();
    const carol = await broker.user();
    const name = orgName();
    await api(admin.token, "POST", "/orgs", { name });

    const added = await api(admin.token, "POST", `/orgs/${name}/members`, { user: bob.name, role: "viewer" });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ user_id: bob.id, name: bob.name, role: "viewer" });
    expect((await api(admin.token, "POST", `/orgs/${name}/members`, { user: bob.name, role: "admin" })).status).toBe(409);
    expect((await api(admin.token, "POST", `/orgs/${name}/members`, { user: "nobody-here", role: "member" })).status).toBe(404);

    // A viewer reads but may not manage.
    expect((await api(bob.token, "GET", `/orgs/${name}/members`)).status).toBe(200);
    expect((await api(bob.token, "POST", `/orgs/${name}/members`, { user: carol.name, role: "member" })).status).toBe(403);
    expect((await api(bob.token, "PATCH", `/orgs/${name}/members/${bob.name}`, { role: "admin" })).status).toBe(403);

    const patched = await api(admin.token, "PATCH", `/orgs/${name}/members/${bob.name}`, { role: "member" });
    expect(patched).toMatchObject({ status: 200, body: { name: bob.name, role: "member" } });
    expect((await api(admin.token, "PATCH", `/orgs/${name}/members/${carol.name}`, { role: "member" })).status).toBe(404);

    // A member leaves by himself.
    expect((await api(bob.token, "DELETE", `/orgs/${name}/members/${bob.name}`)).status).toBe(204);
    expect((await api(bob.token, "GET", `/orgs/${name}`)).status).toBe(404);
    expect((await api(admin.token, "DELETE", `/orgs/${name}/members/${bob.name}`)).status).toBe(404);
  });

  it("never demotes or removes the last admin (409)", async () => {
    const admin = await broker.user();
    const other = await broker.user();
    const name = orgName();
    await api(admin.token, "POST", "/orgs", { name });
    const demote = await api(admin.token, "PATCH", `/orgs/${name}/members/${admin.name}`, { role: "member" });
    expect(demote.status).toBe(409);
    expect(demote.body.error.message).toMatch(/last admin/);
    expect((await api(admin.token, "DELETE", `/orgs/${name}/members/${admin.name}`)).status).toBe(409);

    await api(admin.token, "POST", `/orgs/${name}/members`, { user: other.name, role: "admin" });
    // Two admins demoting each other at once: exactly one succeeds. The other is refused as the
    // last admin (409) or, when the first demotion committed before his request was authorized,
    // as no longer an admin (403); which one depends on timing.
    const both = await Promise.all([
      api(admin.token, "PATCH", `/orgs/${name}/members/${other.name}`, { role: "viewer" }),
      api(other.token, "PATCH", `/orgs/${name}/members/${admin.name}`, { role: "viewer" }),
    ]);
    const statuses = both.map((r) => r.status).sort();
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    const members = (await api(admin.token, "GET", `/orgs/${name}/members`)).body?.members ?? (await api(other.token, "GET", `/orgs/${name}/members`)).body.members;
    expect(members.filter((m: any) => m.role === "admin")).toHaveLength(1);
  });

  it("rejects mass assignment: unknown fields and unknown roles are 400", async () => {
    const admin = await broker.user();
    const other = await broker.user();
    const name = orgName();
    expect((await api(admin.token, "POST", "/orgs", { name, owner_id: other.id })).status).toBe(400);
    expect((await api(admin.token, "POST", "/orgs", { name, is_admin: true })).status).toBe(400);
    await api(admin.token, "POST", "/orgs", { name });
    for (const body of [
      { user: other.name, role: "owner" },
      { user: other.name, role: "member", organization_id: "x" },
      { user: other.name, role: "member", user_id: other.id },
      { user_id: other.id, role: "member" },
    ]) {
      expect((await api(admin.token, "POST", `/orgs/${name}/members`, body)).status, JSON.stringify(body)).toBe(400);
    }
    await api(admin.token, "POST", `/orgs/${name}/members`, { user: other.name, role: "viewer" });
    expect((await api(admin.token, "PATCH", `/orgs/${name}/members/${other.name}`, { role: "viewer", user_id: admin.id })).status).toBe(400);
    expect((await api(admin.token, "GET", `/orgs/${name}/members`)).body.members.find((m: any) => m.name === other.name).role).toBe("viewer");
  });

  it("announces membership changes on GRANTS_CHANGED_SUBJECT", async () => {
    const seen: any[] = [];
    const sub = nc.subscribe(GRANTS_CHANGED_SUBJECT, { callback: (_e, m) => void seen.push(m.json()) });
    await nc.flush();
    try {
      const admin = await broker.user();
      const bob = await broker.user();
      const name = orgName();
      const org = (await api(admin.token, "POST", "/orgs", { name })).body;
      await api(admin.token, "POST", `/orgs/${name}/members`, { user: bob.name, role: "member" });
      await api(admin.token, "PATCH", `/orgs/${name}/members/${bob.name}`, { role: "viewer" });
      await api(admin.token, "DELETE", `/orgs/${name}/members/${bob.name}`);
      await expect.poll(() => seen.filter((s) => s.organization_id === org.id).map((s) => s.change)).toEqual([
        "organization_created",
        "member_added",
        "role_changed",
        "member_removed",
      ]);
      expect(seen.find((s) => s.change === "member_removed")).toEqual({ organization_id: org.id, user_ids: [bob.id], change: "member_removed" });
    } finally {
      sub.unsubscribe();
    }
  });
});

describe("organization endpoints by role", () => {
  it("members read the organization's endpoints, only admins create and delete them; removal stops reading at once", async () => {
    const admin = await broker.user();
    const member = await broker.user();
    const viewer = await broker.user();
    const name = orgName();
    await api(admin.token, "POST", "/orgs", { name });
    await api(admin.token, "POST", `/orgs/${name}/members`, { user: member.name, role: "member" });
    await api(admin.token, "POST", `/orgs/${name}/members`, { user: viewer.name, role: "viewer" });

    const body = (path: string) => ({ path, provider: "github", owner: { organization: name } });
    expect((await api(member.token, "POST", "/endpoints", body(`org/${name}/m`))).status).toBe(403);
    expect((await api(viewer.token, "POST", "/endpoints", body(`org/${name}/v`))).status).toBe(403);
    const created = await api(admin.token, "POST", "/endpoints", body(`org/${name}/a`));
    expect(created.status).toBe(201);
    const id = created.body.id;

    for (const u of [admin, member, viewer]) expect((await api(u.token, "GET", `/endpoints/${id}`)).status).toBe(200);
    expect((await api(member.token, "DELETE", `/endpoints/${id}`)).status).toBe(403);

    // A delivery to the org endpoint reaches the member; after removal, neither pull nor GET show it.
    const res = await postGithub(`${broker.url}/webhook/org/${name}/a`, { secret: created.body.secret });
    expect(res.status).toBe(202);
    const msgId = (await res.json()).id;
    expect((await pull(broker.url, member.token, `after_id=${msgId - 1}`)).body.messages.map((m: any) => m.id)).toEqual([msgId]);

    expect((await api(admin.token, "DELETE", `/orgs/${name}/members/${member.name}`)).status).toBe(204);
    expect((await api(member.token, "GET", `/endpoints/${id}`)).status).toBe(404);
    // One of his own, stored after the org's: had the org's still been readable, it would come first.
    const own = await broker.endpoint({ userId: member.id });
    const ownId = (await (await postGithub(`${broker.url}/webhook/${own.path}`, { secret: own.secret })).json()).id;
    expect((await pull(broker.url, member.token, `after_id=${msgId - 1}`)).body.messages.map((m: any) => m.id)).toEqual([ownId]);
    expect((await pull(broker.url, member.token, "wait=2s")).body.messages.map((m: any) => m.id)).toEqual([ownId]);
    // Nothing was deleted: the endpoint and the message are still there for the others.
    expect((await api(viewer.token, "GET", `/endpoints/${id}`)).status).toBe(200);
    expect((await pull(broker.url, viewer.token, `after_id=${msgId - 1}`)).body.messages.map((m: any) => m.id)).toEqual([msgId]);

    // Re-adding resumes reading.
    await api(admin.token, "POST", `/orgs/${name}/members`, { user: member.name, role: "viewer" });
    expect((await pull(broker.url, member.token, `after_id=${msgId - 1}`)).body.messages.map((m: any) => m.id)).toEqual([msgId, ownId]);
    expect((await api(admin.token, "DELETE", `/endpoints/${id}`)).status).toBe(204);
  });
});
