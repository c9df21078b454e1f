/** `endpoints rotate-secret` in-process against the test harness's PostgreSQL and nats-server. */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getEndpoint, migrateDatabase, openDatabase, SecretBox, type Database } from "@wb/authz";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase, testStack } from "@wb/test-support";
import { runCli } from "./index.js";

let testDb: TestDatabase;
let database: Database;
let dataDir: string;
const key = randomBytes(32);

beforeAll(async () => {
  testDb = await createTestDatabase("clirot");
  dataDir = await mkdtemp(join(tmpdir(), "wb-cli-rot-"));
  database = openDatabase(testDb.url, { max: 1 });
  await migrateDatabase(database.db);
});
afterAll(async () => {
  await database?.close();
  await testDb?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const s = testStack();
  const out = { stdout: "", stderr: "" };
  const env = { WB_DATA_DIR: dataDir, DATABASE_URL: testDb.url, SECRET_KEY: key.toString("base64"), NATS_URL: s.natsUrl, NATS_USER: s.natsAdminUser, NATS_PASSWORD: s.natsAdminPassword };
  const code = await runCli(args, { env, stdout: { write: (t: string) => (out.stdout += t) }, stderr: { write: (t: string) => (out.stderr += t) } });
  return { code, ...out };
}

it("rotates a secret: the new one is printed once, the old one becomes the previous until its expiry", async () => {
  const owner = `o${randomBytes(4).toString("hex")}`;
  expect((await cli("users", "create", owner)).code).toBe(0);
  const created = JSON.parse((await cli("--json", "endpoints", "create", `gh/${owner}`, "--provider", "github", "--owner-user", owner)).stdout);

  const r = await cli("endpoints", "rotate-secret", created.id, "--previous-valid-for", "2h");
  expect(r.code, r.stderr).toBe(0);
  const secret = r.stdout.trim();
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  expect(r.stderr).toContain("store the signing secret now");
  const row = (await getEndpoint(database.db, created.id))!;
  const box = new SecretBox(key);
  expect(box.open(row.secretEnc)).toBe(secret);
  expect(box.open(row.previousSecretEnc!)).toBe(created.secret);
  expect(row.previousSecretExpiresAt!.getTime() - Date.now()).toBeGreaterThan(7_100_000);

  const cut = JSON.parse((await cli("--json", "endpoints", "rotate-secret", created.id, "--secret", "given-secret-123", "--previous-valid-for", "0s")).stdout);
  expect(cut).toEqual({ id: created.id, secret: "given-secret-123", previous_secret_expires_at: null });
  expect((await getEndpoint(database.db, created.id))!.previousSecretEnc).toBeNull();

  expect((await cli("endpoints", "rotate-secret", created.id, "--previous-valid-for", "soon")).code).not.toBe(0);
  expect((await cli("endpoints", "rotate-secret", "00000000-0000-0000-0000-000000000000")).code).not.toBe(0);
});
