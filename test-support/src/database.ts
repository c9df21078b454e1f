import { randomBytes } from "node:crypto";
import { createDatabase, dropDatabase } from "@wb/stack";
import { testStack } from "./inject.js";

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A new, empty database on the shared PostgreSQL, named `<prefix>_<random>`, so test files
 * running in parallel never share tables. Call drop() in afterAll.
 */
export async function createTestDatabase(prefix = "test"): Promise<TestDatabase> {
  const { databaseUrl } = testStack();
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9_]/g, "_")}_${randomBytes(6).toString("hex")}`;
  const url = await createDatabase(databaseUrl, name);
  return { name, url, drop: () => dropDatabase(databaseUrl, name) };
}
