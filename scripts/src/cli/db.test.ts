/** The CLI never migrates as a side effect: a schema behind it is refused until `db migrate`. */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@wb/test-support";
import { cliRunner } from "./testing.js";

let testDb: TestDatabase;
let dataDir: string;
const { cli } = cliRunner(() => ({ WB_DATA_DIR: dataDir, DATABASE_URL: testDb.url, SECRET_KEY: randomBytes(32).toString("base64") }));

beforeAll(async () => {
  testDb = await createTestDatabase("clidb");
  dataDir = await mkdtemp(join(tmpdir(), "wb-cli-db-"));
});
afterAll(async () => {
  await testDb?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it("a command on an unmigrated database is refused without touching it; `db migrate` applies the migrations", async () => {
  const refused = await cli(["users", "list"]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/migration\(s\) behind this CLI; run `pnpm cli db migrate`/);
  // Still nothing there: the refusal did not migrate.
  expect((await cli(["users", "list"])).code).toBe(2);

  const migrated = await cli(["db", "migrate"]);
  expect(migrated.code, migrated.stderr).toBe(0);
  expect(migrated.stdout).toContain("the database schema is current");
  const listed = await cli(["users", "list"]);
  expect(listed.code, listed.stderr).toBe(0);
});

it("an unreachable database is named as such, not as a schema problem", async () => {
  const r = await cli(["users", "list"], { DATABASE_URL: "postgres://wb:pw@127.0.0.1:1/wb" });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/cannot reach the database at 127\.0\.0\.1:1\/wb/);
});
