/** Migrations against a real PostgreSQL: several processes may start (and migrate) at once. */
import { afterEach, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@wb/test-support";
import { migrateDatabase, openDatabase, pendingMigrations, type Database } from "../src/db/client.js";

let testDb: TestDatabase | undefined;
const opened: Database[] = [];
afterEach(async () => {
  for (const d of opened.splice(0)) await d.close();
  await testDb?.drop();
});

it("four gateways migrating a fresh database at once all succeed, and the schema ends up current", async () => {
  testDb = await createTestDatabase("mig");
  const dbs = Array.from({ length: 4 }, () => openDatabase(testDb!.url, { max: 1 }));
  opened.push(...dbs);
  expect(await pendingMigrations(dbs[0]!.db)).toBeGreaterThan(0);
  const results = await Promise.allSettled(dbs.map((d) => migrateDatabase(d.db)));
  expect(results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason?.cause ?? (r as PromiseRejectedResult).reason))).toEqual([]);
  expect(await pendingMigrations(dbs[0]!.db)).toBe(0);
  const { rows } = await dbs[0]!.pool.query("select count(*)::int as n from drizzle.__drizzle_migrations");
  expect(rows[0].n).toBeGreaterThan(0);
});
