import { serve, type ServerType } from "@hono/node-server";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { migrateDatabase, openDatabase, SecretBox } from "@wb/authz";
import type { AddressInfo } from "node:net";
import { pino, type Logger } from "pino";
import { createApp } from "./app.js";
import type { Config } from "./config.js";
import { ConsumerManager } from "./consumers.js";
import { EndpointCache } from "./endpoint-cache.js";
import { connectNats } from "./nats/connection.js";
import { ensureStream } from "./nats/stream.js";

export interface RunningGateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function createLogger(level: Config["LOG_LEVEL"]): Logger {
  // Redaction is a backstop: handlers never log headers or bodies in the first place.
  return pino({ level, redact: ["req.headers.authorization", "*.secret", "*.token", "*.password"] });
}

/** Connects to PostgreSQL and NATS, prepares the stream, and serves HTTP until closed. */
export async function startGateway(config: Config, log = createLogger(config.LOG_LEVEL)): Promise<RunningGateway> {
  const database = openDatabase(config.DATABASE_URL);
  await migrateDatabase(database.db);
  const nc = await connectNats({ url: config.NATS_URL, user: config.NATS_USER, password: config.NATS_PASSWORD, name: "webhook-broker-gateway" });
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, config);
  const js = jetstream(nc);
  const box = new SecretBox(config.SECRET_KEY);
  const endpoints = new EndpointCache({ db: database.db, box, nc, log, refreshMs: config.ENDPOINT_REFRESH_INTERVAL });
  await endpoints.start();
  const consumers = new ConsumerManager({ js, jsm, stream: config.STREAM_NAME, ackWaitMs: config.ACK_WAIT });
  const app = createApp({ config, log, database, box, nc, js, jsm, endpoints, consumers });

  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port }, "gateway listening");

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      endpoints.stop();
      await nc.drain().catch(() => {});
      await database.close();
    },
  };
}
