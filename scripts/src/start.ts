/**
 * `pnpm start`: the whole broker on embedded defaults. Starts a local nats-server and an
 * embedded PostgreSQL unless NATS_URL / DATABASE_URL point elsewhere, runs the gateway, and
 * on first start creates an admin user, a token and a demo endpoint, printed once.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { loadConfig, startGateway, createLogger, ConfigError } from "@wb/gateway";
import { createApiToken, createEndpoint, createUser, listUsers, migrateDatabase, openDatabase, SecretBox } from "@wb/authz";
import { ensureNatsServer, startNats, type NatsServer, startPostgres, type PostgresServer } from "@wb/stack";
import { dataDir, localEnvPath, readEnvFile, writeEnvFile } from "./local-env.js";
import { localCallout } from "./start-callout.js";

const env = process.env;
const dir = dataDir(env);
const saved = readEnvFile(localEnvPath(env));
const say = (msg: string) => console.error(`[start] ${msg}`);
const secretKey = env.SECRET_KEY ?? saved.SECRET_KEY ?? randomBytes(32).toString("base64");

let nats: NatsServer | undefined;
let pg: PostgresServer | undefined;
const stopAll = async () => {
  await nats?.stop().catch(() => {});
  await pg?.stop().catch(() => {});
};

try {
  let natsUrl = env.NATS_URL;
  let natsUser = env.NATS_USER;
  let natsPassword = env.NATS_PASSWORD;
  const cli: Record<string, string> = {};
  // Auth callout (issue 4): keys and the callout user's password live in broker.env.
  const callout = localCallout(saved, env.STREAM_NAME ?? "WEBHOOKS");
  if (!natsUrl) {
    const binary = await ensureNatsServer(say);
    nats = await startNats({
      binary,
      callout: callout.natsConfig,
      dir: join(dir, "nats"),
      port: Number(env.WB_NATS_PORT ?? 4222),
      gatewayPassword: saved.WB_NATS_GATEWAY_PASSWORD,
      adminPassword: saved.NATS_PASSWORD,
      sysPassword: saved.WB_NATS_SYS_PASSWORD,
    });
    say(`nats-server ${nats.url} (data in ${nats.storeDir})`);
    natsUrl = nats.url;
    natsUser = nats.users.gateway.user;
    natsPassword = nats.users.gateway.password;
    Object.assign(cli, {
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
    pg = await startPostgres({ dir: join(dir, "postgres"), port: Number(env.WB_PG_PORT ?? 54329) });
    say(`PostgreSQL on port ${pg.port} (data in ${pg.dataDir})`);
    databaseUrl = pg.url;
  }
  await writeEnvFile(localEnvPath(env), { ...saved, ...cli, DATABASE_URL: databaseUrl, SECRET_KEY: secretKey });

  const config = loadConfig({ ...env, NATS_URL: natsUrl, NATS_USER: natsUser, NATS_PASSWORD: natsPassword, DATABASE_URL: databaseUrl, SECRET_KEY: secretKey });
  // Before the gateway starts, so its endpoint cache sees the demo endpoint.
  const firstStart = await bootstrap(databaseUrl, new SecretBox(config.SECRET_KEY));
  const gateway = await startGateway(config, createLogger(config.LOG_LEVEL));
  const stopCallout = nats ? await callout.start(nats, databaseUrl, say) : undefined;
  if (firstStart) console.log(firstStart(gateway.url));
  say(`gateway ${gateway.url} — Ctrl-C stops everything; data stays in ${dir}`);

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, async () => {
      say("stopping");
      await gateway.close().catch(() => {});
      await stopCallout?.().catch(() => {});
      await stopAll();
      process.exit(0);
    });
  }
} catch (err) {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  await stopAll();
  process.exit(1);
}

/** First start only: an admin, his token and a demo GitHub endpoint, shown once. */
async function bootstrap(databaseUrl: string, box: SecretBox): Promise<((url: string) => string) | undefined> {
  const database = openDatabase(databaseUrl, { max: 1 });
  try {
    await migrateDatabase(database.db);
    if ((await listUsers(database.db)).length > 0) return undefined;
    const admin = await createUser(database.db, { name: "admin", isAdmin: true });
    const { token } = await createApiToken(database.db, admin.id, "bootstrap");
    const { secret } = await createEndpoint(database.db, box, { path: "demo/github", provider: "github", owner: { userId: admin.id } });
    const body = `{"zen":"Keep it logically awesome.","hook_id":1}`;
    return (url) => `
First start: created user 'admin' with an API token (shown only now, store it):

  export WB_TOKEN=${token}

and a GitHub endpoint at ${url}/webhook/demo/github with signing secret:

  export WB_SECRET=${secret}

Send a signed test webhook:

  BODY='${body}'
  SIG=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$WB_SECRET" | sed 's/^.* //')
  curl -i ${url}/webhook/demo/github -H 'Content-Type: application/json' \\
    -H 'X-GitHub-Event: ping' -H "X-GitHub-Delivery: $(uuidgen 2>/dev/null || date +%s%N)" \\
    -H "X-Hub-Signature-256: sha256=$SIG" --data-binary "$BODY"

Pull it (and ack with the ids you got):

  curl -s "${url}/api/v1/messages?limit=10&wait=5s" -H "Authorization: Bearer $WB_TOKEN"
  curl -s ${url}/api/v1/messages/ack -H "Authorization: Bearer $WB_TOKEN" \\
    -H 'Content-Type: application/json' -d '{"message_ids":[1]}'
`;
  } finally {
    await database.close();
  }
}
