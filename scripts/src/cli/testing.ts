/**
 * For the CLI's tests: runs runCli() in-process with an environment read at call time (tests
 * fill it in beforeAll) and collects what it writes; useCliStack() gives a test file its own
 * database on the harness's shared PostgreSQL and the shared nats-server's admin user.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { migrateDatabase, openDatabase, type Database } from "@wb/authz";
import { afterAll, beforeAll, expect } from "vitest";
import { connectAdmin, createTestDatabase, sharedNats, type TestDatabase, testStack } from "@wb/test-support";
import { runCli } from "./index.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

export function cliRunner(env: () => Record<string, string>) {
  const cli = async (args: string[], overrides: Record<string, string | undefined> = {}): Promise<CliRun> => {
    let stdout = "";
    let stderr = "";
    const code = await runCli(args, {
      env: { ...env(), ...overrides },
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
    });
    return { code, stdout, stderr };
  };
  /** Runs with --json and parses stdout; fails the test with stderr when the command fails. */
  const cliJson = async <T = any>(args: string[]): Promise<T> => {
    const r = await cli(["--json", ...args]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  return { cli, cliJson };
}

export interface CliStack extends ReturnType<typeof cliRunner> {
  testDb: TestDatabase;
  database: Database;
  /** An empty data directory, so a developer's .data/broker.env never leaks into the tests. */
  dataDir: string;
  secretKey: Buffer;
  env: Record<string, string>;
  query<T = Record<string, any>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** Registers beforeAll/afterAll that create and drop the stack; its fields are set in beforeAll. */
export function useCliStack(prefix: string): CliStack {
  const t = {
    secretKey: randomBytes(32),
    ...cliRunner(() => t.env),
    query: async (sql: string, params: unknown[] = []) => (await t.database.pool.query(sql, params)).rows,
  } as CliStack;
  beforeAll(async () => {
    const stack = testStack();
    t.testDb = await createTestDatabase(prefix);
    t.dataDir = await mkdtemp(join(tmpdir(), `wb-${prefix}-`));
    t.env = {
      WB_DATA_DIR: t.dataDir,
      DATABASE_URL: t.testDb.url,
      SECRET_KEY: t.secretKey.toString("base64"),
      NATS_URL: stack.natsUrl,
      NATS_USER: stack.natsAdminUser,
      NATS_PASSWORD: stack.natsAdminPassword,
    };
    t.database = openDatabase(t.testDb.url, { max: 2 });
    // As the gateway (or `pnpm cli db migrate`) would have: the CLI itself does not migrate.
    await migrateDatabase(t.database.db);
  });
  afterAll(async () => {
    await t.database?.close();
    await t.testDb?.drop();
    if (t.dataDir) await rm(t.dataDir, { recursive: true, force: true });
  });
  return t;
}

/** A connection to the shared nats-server as its admin user (what the CLI announces with). */
export function adminNats(): Promise<NatsConnection> {
  return connectAdmin(sharedNats(), { inboxPrefix: `_TEST_INBOX.${randomBytes(6).toString("hex")}` });
}
