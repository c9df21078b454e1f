// The local stack launcher: a real nats-server and PostgreSQL as child processes, for `pnpm start`,
// `pnpm bench` and the tests' global setup. Depends on no other workspace package.
export { trackChild } from "./children.js";
export { ensureNatsServer, isSupportedNatsVersion, natsServerVersion, parseNatsVersion } from "./nats-binary.js";
export {
  DEFAULT_MAX_PAYLOAD,
  envReference,
  quoteConfigString,
  renderNatsConfig,
  type ConfigValue,
  type EnvRef,
  type NatsClusterOptions,
  type NatsConfigOptions,
} from "./nats-config.js";
export { startNats, type NatsServer, type NatsUsers, type StartNatsOptions } from "./nats.js";
export { startNatsCluster, type NatsCluster, type StartNatsClusterOptions } from "./nats-cluster.js";
export { freePort, isPortFree } from "./ports.js";
export { createDatabase, databaseUrl, dropDatabase, startPostgres, type PostgresServer, type StartPostgresOptions } from "./postgres.js";
