/**
 * `pnpm start`: the whole broker on embedded defaults. Starts a local nats-server and an
 * embedded PostgreSQL unless NATS_URL / DATABASE_URL point elsewhere, runs the gateway, and
 * on first start creates an admin user, a token and a demo endpoint, written once to a 0600
 * file in the data directory.
 *
 * In this order, so that nothing is touched that should not be: lock the data directory (a
 * running stack is never disturbed), check the configuration (one line per problem), then start.
 * Any SIGINT/SIGTERM/SIGHUP stops everything it started.
 */
import { randomBytes } from "node:crypto";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig, startGateway, ConfigError, type RunningGateway } from "@wb/gateway";
import { checkSecretKey, createApiToken, createEndpoint, createRootLogger, createUser, listUsers, logEnvSchema, migrateDatabase, openDatabase, SecretBox } from "@wb/authz";
import { ensureNatsServer, startNats, type NatsServer, startPostgres, type PostgresServer } from "@wb/stack";
import { DataDirLocked, lockDataDir } from "./data-lock.js";
import { dataDir, localEnvPath, readEnvFile, writeEnvFile } from "./local-env.js";
import { preflight } from "./preflight.js";
import { localCallout } from "./start-callout.js";

const env = process.env;
const dir = dataDir(env);

// The log settings first: everything below logs through them. A bad value is the one message
// that cannot go through the logger.
const logEnv = logEnvSchema.safeParse(env);
if (!logEnv.success) {
  for (const i of logEnv.error.issues) console.error(`${i.path.join(".")}: ${i.message}`);
  process.exit(2);
}
// One stream for this process's own lines and the gateway's and the callout's it runs.
const root = createRootLogger({ level: logEnv.data.LOG_LEVEL, format: logEnv.data.LOG_FORMAT });
const log = root.child({ component: "start" });
const say = (msg: string) => log.info(msg);

/** Problems the operator fixes: logged one line each, no stack trace. */
class StartError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
  }
}

let release: (() => void) | undefined;
try {
  release = lockDataDir(dir);
} catch (err) {
  log.fatal(err instanceof DataDirLocked ? err.message : `cannot lock the data directory ${dir}: ${(err as Error).message}`);
  process.exit(1);
}

let nats: NatsServer | undefined;
let pg: PostgresServer | undefined;
let gateway: RunningGateway | undefined;
let stopCallout: (() => Promise<void>) | undefined;
let stopping: Promise<never> | undefined;

/** Stops whatever has started, in reverse order, releases the lock and exits. */
function stop(code: number): Promise<never> {
  stopping ??= (async () => {
    // A stop that hangs must not keep the servers alive: the exit handler kills what is left.
    setTimeout(() => process.exit(code), 15_000).unref();
    await gateway?.close().catch(() => {});
    await stopCallout?.().catch(() => {});
    await nats?.stop().catch(() => {});
    await pg?.stop().catch(() => {});
    release?.();
    process.exit(code);
  })();
  return stopping;
}

// From the very start, so that a signal during start-up also stops what has started so far.
// `on`, not `once`: while our handler is there, the stack's child tracker leaves the stopping
// to us (a graceful PostgreSQL shutdown instead of SIGKILL); stop() runs once however often.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    log.info({ signal }, "stopping");
    void stop(0);
  });
}
// `pnpm start` does not pass a SIGTERM on (it kills the shell it ran us in, and we are
// orphaned): stop when the package manager that started us is gone.
if (env.npm_lifecycle_event) {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      say("the process that started us is gone: stopping");
      void stop(0);
    }
  }, 500).unref();
}

const saved = readEnvFile(localEnvPath(env));
// Saved key first: SECRET_KEY from the environment is used for this run only, never saved.
const secretKey = env.SECRET_KEY ?? saved.SECRET_KEY ?? randomBytes(32).toString("base64");
const natsPort = Number(env.WB_NATS_PORT ?? 4222);
const pgPort = Number(env.WB_PG_PORT ?? 54329);

try {
  const problems = await preflight({ env, dataDir: dir, secretKey, natsPort, pgPort });
  if (problems.length > 0) throw new StartError(problems);

  let natsUrl = env.NATS_URL;
  let natsUser = env.NATS_USER;
  let natsPassword = env.NATS_PASSWORD;
  const toSave: Record<string, string> = {};
  // Auth callout (issue 4): keys and the callout user's password live in broker.env.
  const callout = localCallout(saved, env.STREAM_NAME ?? "WEBHOOKS", env);
  if (!natsUrl) {
    const binary = await ensureNatsServer(say);
    nats = await startNats({
      binary,
      callout: callout.natsConfig,
      dir: join(dir, "nats"),
      port: natsPort,
      gatewayPassword: saved.WB_NATS_GATEWAY_PASSWORD,
      adminPassword: saved.NATS_PASSWORD,
      sysPassword: saved.WB_NATS_SYS_PASSWORD,
    });
    say(`nats-server ${nats.url} (data in ${nats.storeDir})`);
    natsUrl = nats.url;
    natsUser = nats.users.gateway.user;
    natsPassword = nats.users.gateway.password;
    Object.assign(toSave, {
      NATS_URL: nats.url,
      NATS_USER: nats.users.admin.user,
      NATS_PASSWORD: nats.users.admin.password,
      WB_NATS_GATEWAY_PASSWORD: nats.users.gateway.password,
      WB_NATS_SYS_PASSWORD: nats.users.sys.password,
      ...callout.secrets,
    });
  }
  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    pg = await startPostgres({ dir: join(dir, "postgres"), port: pgPort });
    say(`PostgreSQL on port ${pg.port} (data in ${pg.dataDir})`);
    databaseUrl = pg.url;
    toSave.DATABASE_URL = pg.url;
  }
  if (env.SECRET_KEY === undefined) toSave.SECRET_KEY = secretKey;
  // What this stack made, for the CLI; never a one-off value from the environment.
  await writeEnvFile(localEnvPath(env), { ...saved, ...toSave });

  const config = loadConfig({ ...env, NATS_URL: natsUrl, NATS_USER: natsUser, NATS_PASSWORD: natsPassword, DATABASE_URL: databaseUrl, SECRET_KEY: secretKey });
  // Before the gateway starts, so its endpoint cache sees the demo endpoint.
  const firstStart = await prepareDatabase(databaseUrl, new SecretBox(config.SECRET_KEY));
  gateway = await startGateway(config, root.child({ component: "gateway" }));
  stopCallout = nats ? await callout.start(nats, databaseUrl, root.child({ component: "callout" })) : undefined;
  if (firstStart) {
    const path = join(dir, "first-start.env");
    await writeFile(path, firstStart(gateway.url), { mode: 0o600 });
    await chmod(path, 0o600);
    // Beside the log stream, not in it: a pointer for the person at the terminal; the token and
    // the secret themselves are only in the file.
    process.stderr.write(
      `first start: created user 'admin' and a demo GitHub endpoint; their token and signing secret are in ${path} (mode 0600, shown nowhere else): \`. ${path}\`\n`,
    );
  }
  say(`gateway ${gateway.url} (PID ${process.pid}) — Ctrl-C or kill -TERM ${process.pid} stops everything; data stays in ${dir}`);
} catch (err) {
  if (err instanceof StartError) for (const p of err.problems) log.fatal(p);
  else if (err instanceof ConfigError) for (const p of err.issues) log.fatal(p);
  else log.fatal(env.LOG_LEVEL === "debug" ? { err } : {}, `failed: ${(err as Error)?.message ?? String(err)}`);
  await stop(1);
}

/**
 * Migrates, refuses a SECRET_KEY that opens none of the stored secrets, and on first start only
 * creates an admin, his token and a demo GitHub endpoint.
 */
async function prepareDatabase(databaseUrl: string, box: SecretBox): Promise<((url: string) => string) | undefined> {
  const database = openDatabase(databaseUrl, { max: 1 });
  try {
    await migrateDatabase(database.db);
    const { sealed, opened } = await checkSecretKey(database.db, box);
    if (sealed > 0 && opened === 0) {
      const source = env.SECRET_KEY !== undefined ? "SECRET_KEY from the environment" : `SECRET_KEY in ${localEnvPath(env)}`;
      throw new StartError([
        `SECRET_KEY: the ${source} opens none of the ${sealed} secrets stored in the database (they were sealed under another key); ` +
          `start with the key they were sealed with${env.SECRET_KEY !== undefined ? ` (unset SECRET_KEY to use the saved one)` : ""}, then move to a new key with \`pnpm cli secret-key rotate\``,
      ]);
    }
    if ((await listUsers(database.db)).length > 0) return undefined;
    const admin = await createUser(database.db, { name: "admin", isAdmin: true });
    const { token } = await createApiToken(database.db, admin.id, "bootstrap");
    const { secret } = await createEndpoint(database.db, box, { path: "demo/github", provider: "github", owner: { userId: admin.id } });
    return (url) =>
      [
        "# Written once by the first `pnpm start`; load with `. <this file>`. Lost it? `pnpm cli tokens create admin`.",
        `export WB_URL=${url}`,
        "# The admin's API token",
        `export WB_TOKEN=${token}`,
        `# The signing secret of the demo GitHub endpoint at ${url}/webhook/demo/github`,
        `export WB_SECRET=${secret}`,
        "",
      ].join("\n");
  } finally {
    await database.close();
  }
}
