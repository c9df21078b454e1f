import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultPostgresBinDir, POSTGRES_PROGRAMS, PostgresBinariesError } from "./postgres-binaries.js";
import { startPostgres } from "./postgres.js";

const run = promisify(execFile);

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "wb-pg-test-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("PostgreSQL binaries without their execute bit (issue 9)", () => {
  it("starts anyway: the launcher restores the bits and waits for that before spawning initdb", async () => {
    // A copy this test owns: never touch the installed binaries, which are hard links shared
    // through pnpm's store with every other clone on the machine.
    const copy = join(scratch, "native");
    await run("cp", ["-a", dirname(defaultPostgresBinDir()), copy]);
    const binDir = join(copy, "bin");
    for (const program of POSTGRES_PROGRAMS) await chmod(join(binDir, program), 0o644);

    const server = await startPostgres({ dir: join(scratch, "pg"), binDir });
    try {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      expect((await client.query("select 40 + 2 as answer")).rows).toEqual([{ answer: 42 }]);
      await client.end();
    } finally {
      await server.stop();
    }
    for (const program of POSTGRES_PROGRAMS) {
      expect((await stat(join(binDir, program))).mode & 0o555).toBe(0o555);
    }
  });

  it("fails with one clear line naming a missing program", async () => {
    const empty = join(scratch, "empty-bin");
    await mkdir(empty);
    const start = startPostgres({ dir: join(scratch, "pg-missing"), binDir: empty });
    await expect(start).rejects.toBeInstanceOf(PostgresBinariesError);
    await expect(start).rejects.toThrow(`${join(empty, "initdb")} is missing`);
  });
});
