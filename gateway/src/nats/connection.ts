import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";

export interface NatsOptions {
  url: string;
  user?: string;
  password?: string;
  name: string;
}

/**
 * Connects with a private inbox prefix: with the shared `_INBOX.>` any client allowed to
 * subscribe there could read our request replies (publish acks, fetched messages).
 */
export async function connectNats(opts: NatsOptions): Promise<NatsConnection> {
  return connect({
    servers: opts.url.split(","),
    user: opts.user,
    pass: opts.password,
    name: opts.name,
    inboxPrefix: `_GW_INBOX.${randomBytes(8).toString("hex")}`,
    // Otherwise every request (each publish, each direct get) builds an Error for its stack
    // trace; the bench's CPU profile showed that as the top self-time item on ingest.
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
}
