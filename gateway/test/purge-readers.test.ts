/**
 * The stream-full purge reads who may read what for every user in one query (issue 16 leftover:
 * one query per user was slow with thousands of users). It must decide exactly as the per-user
 * rule (readableEndpointIds) does, for the users the purge rules look at.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { addMember, createOrganization, createUser, disableUser, listUsers, migrateDatabase, openDatabase, readableEndpointIds, schema, type Database } from "@wb/authz";
import { createTestDatabase, type TestDatabase } from "@wb/test-support";
import { purgeFloors, readableByUser } from "../src/nats/purge.js";

let testDb: TestDatabase;
let database: Database;
beforeAll(async () => {
  testDb = await createTestDatabase("purge");
  database = openDatabase(testDb.url, { max: 2 });
  await migrateDatabase(database.db);
});
afterAll(async () => {
  await database?.close();
  await testDb?.drop();
});

it("lists every reader in one query as the per-user rule does: owners, members, repository readers; public endpoints only for users with durables; disabled users never", async () => {
  const db = database.db;
  const [owner, member, repoReader, disabled, other] = await Promise.all(["owner", "member", "reporeader", "disabled", "other"].map((name) => createUser(db, { name })));
  const org = await createOrganization(db, "acme");
  await addMember(db, org.id, member!.id, "member");
  await addMember(db, org.id, repoReader!.id, "member");
  const endpoint = async (path: string, owned: { ownerUserId?: string; ownerOrgId?: string }, extra: { isPublic?: boolean; githubRepo?: string } = {}) => {
    const [row] = await db.insert(schema.endpoints).values({ path, provider: "github", secretEnc: "x", ...owned, ...extra }).returning({ id: schema.endpoints.id });
    return row!.id;
  };
  const priv = await endpoint("p/priv", { ownerUserId: owner!.id });
  const orgEp = await endpoint("p/org", { ownerOrgId: org.id });
  const repoEp = await endpoint("p/repo", { ownerOrgId: org.id }, { githubRepo: "acme/app" });
  const pub = await endpoint("p/pub", { ownerUserId: disabled!.id }, { isPublic: true });
  await endpoint("p/gone", { ownerUserId: disabled!.id });
  await db.insert(schema.githubRepoAccess).values({ userId: repoReader!.id, repo: "acme/app", canRead: true, verifiedUntil: new Date(Date.now() + 3_600_000) });
  // A stale confirmation counts for nothing.
  await db.insert(schema.githubRepoAccess).values({ userId: member!.id, repo: "acme/app", canRead: true, verifiedUntil: new Date(Date.now() - 1_000) });
  await disableUser(db, disabled!.id);

  const withDurables = [owner!.id, other!.id];
  const got = await readableByUser(db, withDurables);
  const sorted = (m: Map<string, Set<string>>) => Object.fromEntries([...m].map(([u, s]) => [u, [...s].sort()]));
  expect(sorted(got)).toEqual(
    sorted(
      new Map([
        [owner!.id, new Set([priv, pub])],
        [member!.id, new Set([orgEp])],
        [repoReader!.id, new Set([orgEp, repoEp])],
        [other!.id, new Set([pub])],
      ]),
    ),
  );

  // The same as asking the per-user rule for each enabled user (public endpoints kept for users with durables).
  const perUser = new Map<string, Set<string>>();
  for (const u of await listUsers(db)) {
    if (u.disabledAt) continue;
    const ids = (await readableEndpointIds(db, u.id)).filter((id) => id !== pub || withDurables.includes(u.id));
    if (ids.length > 0) perUser.set(u.id, new Set(ids));
  }
  expect(sorted(got)).toEqual(sorted(perUser));

  // And the floors follow: the private endpoint waits for its owner's durable, the organization's
  // for its members who have none yet; the public one goes up to its readers' lowest floor.
  const floors = purgeFloors({
    endpoints: [priv, orgEp, repoEp, pub].map((id) => ({ id, isPublic: id === pub })),
    readable: got,
    ackFloors: new Map([
      [owner!.id, [40]],
      [other!.id, [25]],
    ]),
  });
  expect(floors).toEqual(
    new Map([
      [priv, 40],
      [pub, 25],
    ]),
  );
});
